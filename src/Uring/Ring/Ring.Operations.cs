using Uring.Bindings;

namespace Uring;

// The hand-written entry points beside the generated ones (Ring.Operations.g.cs): chains, and
// a read with its own linked timeout.
public sealed partial class Ring
{
    /// <summary>IORING_OP_READ with a per-operation deadline: the read is linked to an
    /// IORING_OP_LINK_TIMEOUT, and fails with <see cref="TimeoutException"/> when it fires first.</summary>
    public CancelableFuture<BufferResult<OwnershipMemory>> Read(FileDescriptor fd, OwnershipMemory buffer, long offset, TimeSpan timeout, int length = -1)
    {
        var chain = CreateChain();
        var read = chain.Read(fd, buffer, offset, length);
        chain.LinkTimeout(timeout);
        chain.Submit();
        return read;
    }

    /// <summary>
    /// Starts a linked chain (IOSQE_IO_LINK, or IOSQE_IO_HARDLINK with <paramref name="hardLinks"/>):
    /// add operations to the builder, then <see cref="LinkedChain.Submit"/>. The members reach the SQ
    /// contiguously, in order, in one submission.
    /// </summary>
    public LinkedChain CreateChain(bool hardLinks = false)
    {
        if (IsDisposed)
            throw new RingDisposedException("Cannot create a chain: the ring was disposed.");
        return new LinkedChain(this, hardLinks);
    }

    /// <summary>A future that is already complete with <paramref name="res"/> (a system call made instead of an opcode).</summary>
    internal CancelableFuture<int> Completed(io_uring_op opcode, int res)
    {
        var op = ImmediateOperation.Create(this, opcode);
        var future = new CancelableFuture<int>(op, op.Version);
        op.Complete(res, 0);
        return future;
    }
}
