using Uring.Bindings;

namespace Uring;

/// <summary>An operation the façade answered without the kernel (a system call made where the
/// kernel lacks the opcode): completed at once, never submitted.</summary>
internal sealed unsafe class ImmediateOperation : PooledOperation<ImmediateOperation, int>
{
    internal static ImmediateOperation Create(Ring ring, io_uring_op opcode)
    {
        if (ring.IsDisposed)
            throw new RingDisposedException($"Cannot start {opcode}: the ring was disposed.", opcode);
        return RentUnchecked(ring, opcode);
    }

    internal override void Prepare(io_uring_sqe* sqe) => throw new InvalidOperationException("An immediate result is never submitted.");

    protected override int Produce() => Res;

    protected override void ClearFields()
    {
    }
}
