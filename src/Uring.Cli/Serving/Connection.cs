namespace Uring.Cli.Serving;

/// <summary>What a connection is waiting for; the watchdog cancels that when its deadline passes.</summary>
internal enum ConnectionWait : byte
{
    None,
    Receive,
    Send,
    Buffer,
}

/// <summary>
/// One accepted socket of a <see cref="RingServer"/>. Touched only on the ring's loop thread.
/// </summary>
internal class Connection(int fd)
{
    /// <summary>The socket.</summary>
    public int Fd { get; } = fd;

    /// <summary>Index in the server's connection table.</summary>
    internal int Slot = -1;

    /// <summary>When the current wait ends (<see cref="Environment.TickCount64"/>); 0: no limit.</summary>
    internal long Deadline;

    /// <summary>What the connection waits for now.</summary>
    internal ConnectionWait Waiting;

    /// <summary>The watchdog cancelled the current wait because its deadline passed.</summary>
    internal bool TimedOut;

    internal bool Closed;

    internal CancelableFuture<ProvidedBuffer> PendingReceive;
    internal CancelableFuture<BufferResult<OwnershipMemory>> PendingSend;
    internal TaskCompletionSource<bool>? BufferWait;
}

/// <summary>A connection's deadline passed (idle, request head, or a send that made no progress).</summary>
internal sealed class ConnectionTimeoutException(ConnectionWait what)
    : Exception($"The connection timed out waiting for {what}.")
{
    /// <summary>What the connection was waiting for.</summary>
    public ConnectionWait What { get; } = what;
}
