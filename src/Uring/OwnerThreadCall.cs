using Uring.Bindings;

namespace Uring;

/// <summary>
/// Runs a callback on the ring's owner thread: the loop runs it while preparing the SQE (a
/// NOP), and the caller waits for the NOP's CQE. Used for io_uring_register calls, which an
/// IORING_SETUP_SINGLE_ISSUER ring accepts only from the thread that owns it.
/// </summary>
internal sealed class OwnerThreadCall : Operation
{
    private readonly Func<IntPtr> _action;
    private readonly ManualResetEventSlim _done = new();
    private IntPtr _result;
    private Exception? _error;

    public OwnerThreadCall(Ring ring, Func<IntPtr> action)
    {
        Ring = ring;
        Opcode = io_uring_op.IORING_OP_LAST; // not a real opcode: the loop's Prepare hands it to PrepareNetworkOperation
        _action = action;
    }

    internal override short Version => 0;

    internal void Run()
    {
        try
        {
            _result = _action();
        }
        catch (Exception e)
        {
            _error = e;
        }
    }

    internal override void Complete(int res, uint cqeFlags)
    {
        Volatile.Write(ref Stage, StageCompleted);
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
