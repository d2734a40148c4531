using Uring.Bindings;

namespace Uring;

/// <summary>
/// Runs a callback on the ring's owner thread: the operation is a NOP, and the loop runs the
/// callback when it dispatches the NOP's CQE — where continuations run, so the callback may do
/// whatever a continuation may (even dispose the ring). The caller waits for it. Used for
/// io_uring_register calls, which an IORING_SETUP_SINGLE_ISSUER ring accepts only from the
/// thread that owns it.
/// </summary>
internal sealed unsafe class OwnerThreadCall : Operation
{
    private readonly Func<IntPtr> _action;
    private readonly ManualResetEventSlim _done = new();
    private IntPtr _result;
    private Exception? _error;

    public OwnerThreadCall(Ring ring, Func<IntPtr> action)
    {
        Ring = ring;
        Opcode = io_uring_op.IORING_OP_NOP;
        _action = action;
    }

    internal override long Version => 0;

    internal override void Prepare(io_uring_sqe* sqe) => Liburing.io_uring_prep_nop(sqe); // the callback runs when its CQE is dispatched

    internal override void Complete(int res, uint cqeFlags)
    {
        Volatile.Write(ref Stage, StageCompleted);
        try
        {
            _result = _action();
        }
        catch (Exception e)
        {
            _error = e;
        }
        _done.Set();
    }

    internal override void FailLocally(Exception error)
    {
        Volatile.Write(ref Stage, StageCompleted);
        _error ??= error;
        _done.Set();
    }

    public IntPtr WaitResult()
    {
        _done.Wait();
        _done.Dispose();
        if (_error is not null)
            throw _error;
        return _result;
    }
}
