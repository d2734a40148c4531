using System.Net;

namespace Uring.Cli.Serving;

/// <summary>The settings of a sample server; every limit is explained in docs/reliability.md.</summary>
public sealed record ServerSettings
{
    public const int DefaultBufferCount = 1024;
    public const int DefaultBufferSize = 4096;
    public const int MinBufferSize = 256;
    public const int MaxBufferSize = 1 << 20;

    /// <summary>The most memory the provided buffer ring may take (--buffers × --buffer-size).</summary>
    public const long MaxBufferRingBytes = 256L << 20;

    public static readonly TimeSpan DefaultHeaderTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultSendTimeout = TimeSpan.FromSeconds(30);

    public ServerKind Kind { get; init; }

    /// <summary>Where to listen (port 0: any free port).</summary>
    public IPEndPoint EndPoint { get; init; } = new(IPAddress.Loopback, 8000);

    /// <summary>listen(2) backlog: connections the kernel queues while the server does not accept (for example while out of fds).</summary>
    public int Backlog { get; init; } = 4096;

    /// <summary>Buffers in the provided buffer ring (a power of two).</summary>
    public int BufferCount { get; init; } = DefaultBufferCount;

    /// <summary>Bytes per ring buffer.</summary>
    public int BufferSize { get; init; } = DefaultBufferSize;

    /// <summary>HTTP: a request's head (and body) must have arrived this long after its first byte (zero: no limit).</summary>
    public TimeSpan HeaderTimeout { get; init; } = DefaultHeaderTimeout;

    /// <summary>A connection that sends nothing for this long between requests is closed (zero: never).</summary>
    public TimeSpan IdleTimeout { get; init; } = DefaultIdleTimeout;

    /// <summary>A connection whose peer takes no data for this long is closed (zero: never).</summary>
    public TimeSpan SendTimeout { get; init; } = DefaultSendTimeout;

    /// <summary>
    /// Out of file descriptors (or memory), accepting pauses and tries again after
    /// <see cref="Uring.AcceptBackoff.Initial"/>, doubling up to <see cref="Uring.AcceptBackoff.Maximum"/>;
    /// a connection that closes ends the wait at once. Default 10 ms doubling to 250 ms. Not a
    /// command-line option: <c>uring serve</c> keeps the default (tests set a longer one).
    /// </summary>
    public AcceptBackoff AcceptBackoff { get; init; } = new() { Initial = TimeSpan.FromMilliseconds(10), Maximum = TimeSpan.FromMilliseconds(250) };
}
