namespace Uring;

/// <summary>
/// An operation kind that lends buffers to the kernel (generated from the operation table for
/// every kind with a buffer parameter). Lets an abandoned wait
/// (<see cref="CancelableFuture{T}.WaitAsync(TimeSpan, CancellationToken)"/>) have the buffers
/// released at the CQE, since nobody will take them back.
/// </summary>
internal interface ILendsBuffers
{
    /// <summary>Arranges for the buffers still lent to be released at the CQE; returns which ones
    /// (bit i: the i-th buffer; a single buffer is bit 0). A buffer whose bit is clear was already
    /// given back by the CQE, and whoever receives the result releases it.</summary>
    int ReleaseWhenReturned();
}
