using Uring.Bindings;

namespace Uring;

// The hand-written entry points beside the generated ones (Ring.Operations.g.cs): chains, a
// read with its own linked timeout, and a multishot receive with backpressure.
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
    /// Multishot receive (IORING_RECV_MULTISHOT) with buffers from <paramref name="bufferRing"/>
    /// and backpressure: like <see cref="ReceiveMultishot(FileDescriptor, BufferRing, MessageFlags)"/>,
    /// one armed request yields a lease per CQE until the peer closes, but a consumer that falls
    /// behind by <paramref name="maxQueued"/> leases pauses the request instead of letting it take
    /// the ring's buffers.
    /// </summary>
    /// <remarks>
    /// <para>When <paramref name="maxQueued"/> leases wait unconsumed, the stream cancels its
    /// kernel request. Leases the kernel delivered before that request's last CQE are queued, never
    /// dropped, and every byte arrives in order. When the consumer has taken the queue down to
    /// <paramref name="maxQueued"/> / 2, the stream arms a new request, which goes on where the
    /// socket stands; meanwhile unread data waits in the socket, and TCP flow control slows the
    /// peer. The pause is invisible to the consumer, who sees one stream of leases.</para>
    /// <para>Each arming also asks the kernel to stop by itself after as many bytes as the free
    /// places in the queue hold in whole buffers (Linux 6.17+), so a burst of data cannot fill
    /// more buffers than that before the stream reacts; a connection therefore holds at most about
    /// <paramref name="maxQueued"/> queued leases plus the ones its consumer holds. On older
    /// kernels the bound is kept by the cancel alone, and one wake-up of a busy socket may fill
    /// up to 32 more buffers before it lands.</para>
    /// <para>A consumer that is never behind (it asks for the next lease before the data comes)
    /// costs nothing extra: the request stays armed, as in the unbounded stream. Stopping (leaving
    /// <c>await foreach</c>, disposing the enumerator, its cancellation token) cancels the request
    /// and returns leases received but not consumed; the ring's disposal ends the stream with
    /// <see cref="RingDisposedException"/>. Dispose every lease you take.</para>
    /// </remarks>
    /// <param name="fd">A connected stream socket.</param>
    /// <param name="bufferRing">The provided buffer ring the kernel picks buffers from.</param>
    /// <param name="maxQueued">Leases the consumer may fall behind by before the stream pauses; 0: no bound (as the overload without it).</param>
    /// <param name="flags">recv(2) flags; <see cref="MessageFlags.WaitAll"/> is refused (the kernel does not take it for a multishot receive).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxQueued"/> is negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="flags"/> has <see cref="MessageFlags.WaitAll"/> with a bound, or <paramref name="bufferRing"/> belongs to another ring.</exception>
    public IAsyncEnumerable<ProvidedBuffer> ReceiveMultishot(FileDescriptor fd, BufferRing bufferRing, int maxQueued, MessageFlags flags = MessageFlags.None) =>
        MultishotReceive.Open(this, fd, bufferRing, flags, maxQueued);

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
