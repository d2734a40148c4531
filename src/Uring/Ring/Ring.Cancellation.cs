using Uring.Bindings;

namespace Uring;

// Cancellation: IORING_OP_ASYNC_CANCEL for one operation, and what a -ECANCELED means for the
// operation that got it (cancelled by the caller, by a linked timeout, by a failed chain
// predecessor, or by the ring's disposal).
public sealed partial class Ring
{
    /// <summary>Asks the kernel to cancel <paramref name="target"/> (as of <paramref name="version"/>); the future says what it answered.</summary>
    internal CancelableFuture<CancelOutcome> CancelOperation(Operation target, long version) =>
        Start(Uring.CancelOperation.Create(this, target, version), default);

    /// <summary>A cancellation token fired: cancel unless the operation is already done or the ring is going away.</summary>
    private void RequestCancel(Operation target, long version)
    {
        if (target.Version != version || Volatile.Read(ref target.Stage) == Operation.StageCompleted || IsDisposed)
            return;
        CancelOperation(target, version);
    }

    /// <summary>The exception for a negative <paramref name="res"/> of <paramref name="op"/>.</summary>
    internal Exception MapError(Operation op, int res)
    {
        var errno = -res;
        if (errno != Errno.ECANCELED)
            return new UringIOException(errno, op.Opcode);
        if (Volatile.Read(ref _lifecycle) != Running && !op.IsCancelRequested)
            return new RingDisposedException($"{op.Opcode} was cancelled because the ring was disposed while it was in flight.", op.Opcode);
        if (op.HasLinkTimeout && !op.IsCancelRequested)
            return new TimeoutException($"{op.Opcode} did not complete before its linked timeout (IORING_OP_LINK_TIMEOUT) fired; the kernel cancelled it.");
        if (op.Token.IsCancellationRequested)
            return new OperationCanceledException($"{op.Opcode} was cancelled.", op.Token);
        if (op.InChain && !op.IsCancelRequested)
            return new OperationCanceledException($"{op.Opcode} was cancelled because an earlier member of its linked chain failed.");
        return new OperationCanceledException($"{op.Opcode} was cancelled.");
    }
}
