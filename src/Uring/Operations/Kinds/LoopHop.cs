using Uring.Bindings;

namespace Uring;

/// <summary>
/// Runs a continuation on a dedicated ring's loop thread: the operation is a NOP, and the loop
/// runs the work item when it dispatches the NOP's CQE, as it runs every continuation. Used for
/// an <c>await</c> registered on another thread after its operation had already completed, so
/// that continuations keep running on the loop thread (<see cref="RingThreading.DedicatedThread"/>)
/// whichever side won the race. If the ring is gone before the NOP runs, the work item goes to
/// the thread pool instead: it still runs, exactly once.
/// </summary>
internal sealed unsafe class LoopHop : Operation
{
    private readonly IThreadPoolWorkItem _work;

    public LoopHop(Ring ring, IThreadPoolWorkItem work)
    {
        Ring = ring;
        Opcode = io_uring_op.IORING_OP_NOP;
        _work = work;
    }

    internal override long Version => 0;

    internal override void Prepare(io_uring_sqe* sqe) => Liburing.io_uring_prep_nop(sqe);

    internal override void Complete(int res, uint cqeFlags)
    {
        Volatile.Write(ref Stage, StageCompleted);
        _work.Execute();
    }

    internal override void FailLocally(Exception error)
    {
        Volatile.Write(ref Stage, StageCompleted);
        ThreadPool.UnsafeQueueUserWorkItem(_work, preferLocal: false);
    }
}
