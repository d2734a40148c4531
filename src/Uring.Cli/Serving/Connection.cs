namespace Uring.Cli.Serving;

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

    /// <summary>Starts a wait the watchdog bounds: what the connection waits for, and until when
    /// (<see cref="Environment.TickCount64"/>; 0: no limit).</summary>
    internal void BeginWait(ConnectionWait what, long deadline)
    {
        Waiting = what;
        Deadline = deadline;
        TimedOut = false;
    }

    /// <summary>Ends the current wait: the watchdog leaves the connection alone.</summary>
    internal void EndWait()
    {
        Waiting = ConnectionWait.None;
        Deadline = 0;
    }

    internal bool Closed;

    internal CancelableFuture<ProvidedBuffer> PendingReceive;
    internal CancelableFuture<BufferResult<OwnershipMemory>> PendingSend;

    /// <summary>The slice a partial send's remainder goes out from (disposed when that send ends).</summary>
    internal OwnershipMemory? SendSlice;
    internal TaskCompletionSource<bool>? BufferWait;

    /// <summary>Stops the connection's multishot receive (only when it has a deadline to keep).</summary>
    internal CancellationTokenSource? StreamStop;
}
