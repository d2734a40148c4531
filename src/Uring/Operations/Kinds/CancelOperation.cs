using Uring.Bindings;

namespace Uring;

/// <summary>
/// IORING_OP_ASYNC_CANCEL for one operation of the same ring (<see cref="CancelableFuture{T}.Cancel"/>,
/// a cancellation token, a stopping multishot stream). It names its target by the target's
/// current user_data; a target that never reached the kernel, or that already completed, is
/// answered without an SQE.
/// </summary>
internal sealed unsafe class CancelOperation : PooledOperation<CancelOperation, CancelOutcome>
{
    private Operation _target = null!;
    private long _targetVersion;
    private bool _targetWasQueued; // the target had not reached the kernel when the cancel was asked

    internal static CancelOperation Create(Ring ring, Operation target, long targetVersion)
    {
        Interlocked.Exchange(ref target.CancelRequested, 1);
        var op = Rent(ring, io_uring_op.IORING_OP_ASYNC_CANCEL);
        op.ProduceHandlesErrors = true;
        op.ResolvesBeforePrepare = true;
        // Read after the flag is published: if the target is still queued, the owner thread will
        // see the flag when it gets to it and end it cancelled without submitting it.
        op._targetWasQueued = Volatile.Read(ref target.Stage) == StageQueued;
        op._target = target;
        op._targetVersion = targetVersion;
        return op;
    }

    internal override bool TryResolveWithoutKernel()
    {
        var targetStage = Volatile.Read(ref _target.Stage);
        if (_target.Version != _targetVersion || targetStage == StageCompleted)
        {
            Complete(_targetWasQueued ? 0 : -Errno.ENOENT, 0);
            return true;
        }
        if (targetStage == StageQueued)
        {
            // Not prepared yet: it will be completed as cancelled when its turn comes.
            Complete(0, 0);
            return true;
        }
        return false;
    }

    internal override void Prepare(io_uring_sqe* sqe) => Liburing.io_uring_prep_cancel64(sqe, _target.UserData, 0);

    protected override CancelOutcome Produce()
    {
        var targetDone = _target.Version != _targetVersion || Volatile.Read(ref _target.Stage) == StageCompleted;
        return Res switch
        {
            0 => CancelOutcome.Cancelled,
            -Errno.ENOENT => targetDone ? CancelOutcome.AlreadyCompleted : CancelOutcome.NotFound,
            -Errno.EALREADY => CancelOutcome.AlreadyRunning,
            _ => throw new UringIOException(-Res, io_uring_op.IORING_OP_ASYNC_CANCEL),
        };
    }

    protected override void ClearFields()
    {
        _target = null!;
        _targetVersion = 0;
        _targetWasQueued = false;
    }
}
