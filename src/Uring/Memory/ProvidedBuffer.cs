namespace Uring;

/// <summary>
/// Data the kernel received into a buffer it picked from a <see cref="BufferRing"/>
/// (IOSQE_BUFFER_SELECT). The program owns <see cref="Memory"/> until it disposes this lease,
/// which hands the buffer back to the ring for the kernel to fill again.
/// </summary>
/// <remarks>
/// A lease is a small struct; dispose exactly one copy of it. Disposing a copy whose buffer
/// has already gone back to the ring (and may have been picked by the kernel again) throws
/// <see cref="ObjectDisposedException"/> instead of returning someone else's data.
/// </remarks>
public readonly struct ProvidedBuffer : IDisposable
{
    private readonly BufferRing? _ring;
    private readonly uint _generation;

    internal ProvidedBuffer(BufferRing ring, OwnershipMemory memory, ushort bufferId, int length, uint generation)
    {
        _ring = ring;
        Memory = memory;
        BufferId = bufferId;
        Length = length;
        _generation = generation;
    }

    /// <summary>True for the lease that stands for end of stream (the peer closed; <c>res</c> was 0): it holds no buffer.</summary>
    public bool IsEndOfStream => Memory is null;

    /// <summary>Bytes received.</summary>
    public int Length { get; }

    /// <summary>The buffer id the kernel reported (the CQE's flags &gt;&gt; IORING_CQE_BUFFER_SHIFT).</summary>
    public ushort BufferId { get; }

    /// <summary>The whole ring buffer (<see cref="BufferRing.BufferSize"/> bytes); the data is its first <see cref="Length"/> bytes. Null at end of stream.</summary>
    public OwnershipMemory? Memory { get; }

    /// <summary>The received bytes.</summary>
    /// <exception cref="ObjectDisposedException">The lease was disposed.</exception>
    public Span<byte> Span => Memory is null ? default : Memory.Span[..Length];

    /// <summary>Gives the buffer back to its ring. A no-op for the end-of-stream lease.</summary>
    /// <exception cref="ObjectDisposedException">This lease (or a copy of it) was already disposed.</exception>
    public void Dispose()
    {
        if (Memory is not null)
            _ring!.ReturnLease(BufferId, _generation);
    }

    /// <inheritdoc />
    public override string ToString() => IsEndOfStream ? "end of stream" : $"{Length} bytes in buffer {BufferId}";
}
