using System.Collections.Concurrent;

namespace Uring;

// Provided buffer rings registered with this ring (IORING_REGISTER_PBUF_RING), by buffer group.
public sealed partial class Ring
{
    private readonly ConcurrentDictionary<ushort, BufferRing> _bufferRings = new();
    private int _nextBufferGroup = -1;

    /// <summary>
    /// Registers a provided buffer ring of <paramref name="count"/> buffers (a power of two,
    /// at most 32768) of <paramref name="bufferSize"/> bytes under a new buffer group.
    /// </summary>
    /// <exception cref="UringIOException">The kernel refused the registration.</exception>
    public BufferRing CreateBufferRing(int count, int bufferSize)
    {
        if (count <= 0 || count > 32768 || (count & (count - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(count), count, "A buffer ring holds a power of two between 1 and 32768 buffers.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferSize);
        if (IsDisposed)
            throw new RingDisposedException("Cannot create a buffer ring: the ring was disposed.");
        var group = Interlocked.Increment(ref _nextBufferGroup);
        if (group > ushort.MaxValue)
            throw new InvalidOperationException("All 65536 buffer group ids of this ring were used.");
        var ring = new BufferRing(this, (ushort)group, count, bufferSize);
        _bufferRings[(ushort)group] = ring;
        return ring;
    }

    internal void ForgetBufferRing(BufferRing ring) => _bufferRings.TryRemove(ring.GroupId, out _);

    /// <summary>The buffer ring is this ring's and still registered.</summary>
    internal void CheckBufferRing(BufferRing bufferRing, string name)
    {
        ArgumentNullException.ThrowIfNull(bufferRing, name);
        if (!ReferenceEquals(bufferRing.Ring, this))
            throw new ArgumentException("The buffer ring belongs to another Ring.", name);
        if (!_bufferRings.ContainsKey(bufferRing.GroupId))
            throw new ObjectDisposedException(nameof(BufferRing), "The buffer ring was disposed.");
    }
}
