namespace Uring.AspNetCore;

/// <summary>How the io_uring transport runs: rings, buffers, and where the application's code runs.</summary>
public sealed class UringTransportOptions
{
    /// <summary>
    /// Rings, each with its own loop thread; every ring accepts on each listening socket and serves
    /// the connections it accepted. Default: <see cref="Environment.ProcessorCount"/> (which follows
    /// the process's CPU affinity), so one ring per core the process may use.
    /// </summary>
    public int RingCount { get; set; } = Environment.ProcessorCount;

    /// <summary>Submission queue entries of each ring. Default 1024.</summary>
    public uint RingEntries { get; set; } = 1024;

    /// <summary>Where the application's reads of a connection resume; see <see cref="UringApplicationScheduling"/>.
    /// Default <see cref="UringApplicationScheduling.RingThread"/>.</summary>
    public UringApplicationScheduling ApplicationScheduling { get; set; } = UringApplicationScheduling.RingThread;

    /// <summary>
    /// Receive with buffer select from a provided buffer ring per ring (the kernel takes a buffer only
    /// when data arrives; the bytes are copied into the connection's input pipe and the buffer goes
    /// straight back): an idle connection holds no receive memory. False: receive straight into the
    /// input pipe's memory (no copy; an idle connection holds one pipe block). Default true.
    /// </summary>
    public bool UseProvidedBuffers { get; set; } = true;

    /// <summary>Buffers in each ring's provided buffer ring (a power of two). Default 256.</summary>
    public int ProvidedBufferCount { get; set; } = 256;

    /// <summary>Size of each provided buffer. Default 16 KiB.</summary>
    public int ProvidedBufferSize { get; set; } = 16 * 1024;

    /// <summary>Received bytes that may wait for the application before receiving pauses (the peer is then
    /// slowed by TCP flow control). Default 1 MiB, as Kestrel's Sockets transport; null: no limit.</summary>
    public long? MaxReadBufferSize { get; set; } = 1024 * 1024;

    /// <summary>Written bytes that may wait to be sent before the application's FlushAsync waits.
    /// Default 64 KiB, as Kestrel's Sockets transport; null: no limit.</summary>
    public long? MaxWriteBufferSize { get; set; } = 64 * 1024;

    /// <summary>Set TCP_NODELAY on accepted connections. Default true.</summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>The listen backlog. Default 512, as Kestrel's Sockets transport.</summary>
    public int Backlog { get; set; } = 512;

    /// <summary>How long a closing connection may take to send what the application wrote. Default 5 s.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long accepting waits between attempts while the process is out of file descriptors or
    /// memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): <see cref="Uring.AcceptBackoff.Initial"/> first,
    /// doubling up to <see cref="Uring.AcceptBackoff.Maximum"/>. A connection of the transport that
    /// closes ends the wait at once, since its descriptor is free. Default 10 ms doubling to 500 ms.
    /// </summary>
    public AcceptBackoff AcceptBackoff { get; set; } = new() { Initial = TimeSpan.FromMilliseconds(10), Maximum = TimeSpan.FromMilliseconds(500) };
}

/// <summary>Where the application's code resumes when data arrives on a connection.</summary>
public enum UringApplicationScheduling
{
    /// <summary>
    /// On the loop thread of the connection's ring, inline: a request is parsed, handled and its
    /// response submitted without leaving that thread, and the ring submits every connection's sends
    /// in one kernel entry per loop turn. Fastest, but application code that blocks (synchronous I/O,
    /// locks, <c>.Result</c>) stalls every connection of that ring.
    /// </summary>
    RingThread,

    /// <summary>
    /// On the thread pool, as Kestrel's Sockets transport does by default: blocking application code
    /// holds up only a pool thread, at the cost of a thread hop per read and a cross-thread handoff
    /// (queue + eventfd wake-up) per send.
    /// </summary>
    ThreadPool,
}
