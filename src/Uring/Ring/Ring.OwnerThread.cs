using System.Net.Sockets;

namespace Uring;

// Calls that must run on the owner thread (io_uring_register on a SINGLE_ISSUER ring), and
// counters the operation kinds keep.
public sealed partial class Ring
{
    private long _zeroCopySendCqes, _zeroCopyNotifications, _zeroCopyBufferHeldAtSendCqe;

    /// <summary>
    /// Runs <paramref name="action"/> on the thread that owns the ring (io_uring_register calls
    /// on an IORING_SETUP_SINGLE_ISSUER ring must come from it) and returns its result. On
    /// another thread it blocks until the owner ran it; a <see cref="RingThreading.CallerThread"/>
    /// ring must be driven meanwhile.
    /// </summary>
    internal IntPtr InvokeOnOwnerThread(Func<IntPtr> action)
    {
        if (IsShutDown)
            throw new RingDisposedException("The ring was disposed."); // its native ring is gone
        if (IsOwnerThread)
            return action();
        if (IsDisposed)
            throw new RingDisposedException("The ring was disposed.");
        var call = new OwnerThreadCall(this, action);
        Submit(call);
        return call.WaitResult();
    }

    /// <summary>
    /// Runs a continuation on the loop thread of a <see cref="RingThreading.DedicatedThread"/> ring
    /// (through a NOP; see <see cref="LoopHop"/>), or on the thread pool for a ring without one,
    /// on the owner's own stack (no deeper recursion there), or one that is shutting down.
    /// </summary>
    internal void RunOnLoopThread(IThreadPoolWorkItem work)
    {
        if (_options.Threading == RingThreading.CallerThread || IsOnOwnerStack || IsDisposed)
        {
            ThreadPool.UnsafeQueueUserWorkItem(work, preferLocal: true);
            return;
        }
        Submit(new LoopHop(this, work));
    }

    /// <summary>
    /// Moves the awaiting code onto the thread that owns the ring: <c>await ring.SwitchToOwnerThread()</c>
    /// continues on the loop thread of a <see cref="RingThreading.DedicatedThread"/> ring (or, for a
    /// <see cref="RingThreading.CallerThread"/> ring, during its owner's next turn), where operations
    /// go straight into the submission queue and continuations of operations started there run
    /// inline. On the owner thread already, it continues at once.
    /// </summary>
    /// <remarks>
    /// Awaiting an operation's future is not a reliable way to get there: if the operation
    /// completes before the <c>await</c> looks at it, the code simply continues on the calling thread.
    /// A server that keeps its state unsynchronised, or that must keep working when the process is
    /// out of file descriptors (a new thread-pool thread needs one), should switch first.
    /// </remarks>
    /// <exception cref="RingDisposedException">(from the <c>await</c>) The ring was disposed before the switch
    /// happened: the code then continues on a thread-pool thread, not the owner thread.</exception>
    public OwnerThreadAwaitable SwitchToOwnerThread() => new(this);

    /// <summary>Queues <paramref name="work"/> to run on the owner thread (or the thread pool, if the ring is gone first).</summary>
    internal void PostToOwnerThread(IThreadPoolWorkItem work)
    {
        if (IsDisposed)
        {
            ThreadPool.UnsafeQueueUserWorkItem(work, preferLocal: false);
            return;
        }
        Submit(new LoopHop(this, work));
    }

    /// <summary>Zero-copy sends whose first CQE (the send's result, with IORING_CQE_F_MORE) arrived.</summary>
    public long ZeroCopySendCompletions => Interlocked.Read(ref _zeroCopySendCqes);

    /// <summary>Zero-copy notification CQEs (IORING_CQE_F_NOTIF): the kernel released the buffer.</summary>
    public long ZeroCopyNotifications => Interlocked.Read(ref _zeroCopyNotifications);

    /// <summary>Zero-copy sends whose buffer was still owned by the kernel when the send's first CQE arrived (diagnostics for the ownership rule).</summary>
    public long ZeroCopyBuffersHeldPastSendCompletion => Interlocked.Read(ref _zeroCopyBufferHeldAtSendCqe);

    internal void NoteZeroCopySendCompletion(bool bufferStillLent)
    {
        _zeroCopySendCqes++;
        if (bufferStillLent)
            _zeroCopyBufferHeldAtSendCqe++;
    }

    internal void NoteZeroCopyNotification() => _zeroCopyNotifications++;

    /// <summary>The fd of a <see cref="System.Net.Sockets.Socket"/>; the socket must stay open while operations use it
    /// (operations also take the <see cref="System.Net.Sockets.Socket"/> itself, which keeps its handle referenced).</summary>
    public static int FdOf(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return (int)socket.SafeHandle.DangerousGetHandle();
    }
}
