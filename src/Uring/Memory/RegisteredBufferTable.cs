using Uring.Bindings;

namespace Uring;

/// <summary>
/// A buffer registered with the ring (fixed buffer) in slot <see cref="Index"/>. Its
/// <see cref="Memory"/> belongs to the table: disposing it unregisters the slot, frees the
/// memory and makes the slot free again. Use it with <see cref="Ring.ReadFixed(FileDescriptor, RegisteredBuffer, long, int, CancellationToken)"/>,
/// <see cref="Ring.WriteFixed(FileDescriptor, RegisteredBuffer, long, int, CancellationToken)"/> and
/// <see cref="Ring.SendZeroCopyFixed(FileDescriptor, RegisteredBuffer, int, MessageFlags, CancellationToken)"/>.
/// </summary>
public readonly record struct RegisteredBuffer(int Index, OwnershipMemory Memory);

/// <summary>
/// The ring's registered buffer table: a sparse table of <see cref="Capacity"/> slots
/// (<c>io_uring_register_buffers_sparse</c>). <see cref="Allocate"/> allocates page-aligned
/// memory and registers it in a free slot (the kernel pins it once instead of per operation);
/// disposing the buffer's <see cref="OwnershipMemory"/> — after its operations completed, as
/// always — unregisters the slot and frees the memory. One table per ring.
/// </summary>
public sealed unsafe class RegisteredBufferTable : IOwnershipMemoryPool, IDisposable
{
    private readonly Ring _ring;
    private readonly Stack<int> _free = new();
    private readonly OwnershipMemory?[] _slots;
    private readonly Dictionary<OwnershipMemory, int> _index = new(ReferenceEqualityComparer.Instance);
    private bool _disposed;

    internal RegisteredBufferTable(Ring ring, int capacity)
    {
        _ring = ring;
        Capacity = capacity;
        _slots = new OwnershipMemory?[capacity];
        for (var i = capacity - 1; i >= 0; i--)
            _free.Push(i);
        var r = (int)ring.InvokeOnOwnerThread(() => Liburing.io_uring_register_buffers_sparse(ring.NativeRing, (uint)capacity));
        if (r < 0)
            throw new UringIOException(-r, $"io_uring_register_buffers_sparse({capacity}){LibC.MemlockNote(-r)}");
    }

    /// <summary>Number of slots.</summary>
    public int Capacity { get; }

    /// <summary>Slots not in use.</summary>
    public int FreeSlots { get { lock (_free) return _free.Count; } }

    /// <summary>Allocates <paramref name="length"/> bytes (page-aligned, zeroed) and registers them in a free slot.</summary>
    /// <exception cref="InvalidOperationException">Every slot is in use.</exception>
    /// <exception cref="UringIOException">The kernel refused (e.g. ENOMEM: RLIMIT_MEMLOCK).</exception>
    public RegisteredBuffer Allocate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        int slot;
        lock (_free)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_free.TryPop(out slot))
                throw new InvalidOperationException($"All {Capacity} registered buffer slots are in use; dispose one first.");
        }
        var memory = OwnershipMemory.AllocateForPool(length, 4096, this);
        var r = Update(slot, memory.Pointer, (nuint)length);
        if (r < 0)
        {
            lock (_free)
                _free.Push(slot);
            _index[memory] = -1;
            memory.Dispose();
            throw new UringIOException(-r, $"io_uring_register_buffers_update_tag(slot {slot}, {length} bytes){LibC.MemlockNote(-r)}");
        }
        lock (_free)
        {
            _slots[slot] = memory;
            _index[memory] = slot;
        }
        return new RegisteredBuffer(slot, memory);
    }

    internal void CheckRegistered(RegisteredBuffer buffer)
    {
        lock (_free)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if ((uint)buffer.Index >= (uint)Capacity || !ReferenceEquals(_slots[buffer.Index], buffer.Memory))
                throw new ArgumentException($"Registered buffer slot {buffer.Index} does not hold this memory.", nameof(buffer));
        }
    }

    /// <summary>The buffer's OwnershipMemory was disposed: unregister its slot and free it.</summary>
    void IOwnershipMemoryPool.Return(OwnershipMemory memory)
    {
        int slot;
        lock (_free)
        {
            slot = _index[memory];
            _index.Remove(memory);
            if (slot >= 0)
                _slots[slot] = null;
        }
        if (slot >= 0 && !_disposed && !_ring.IsDisposed)
        {
            try
            {
                Update(slot, null, 0);
            }
            catch (RingDisposedException)
            {
            }
        }
        memory.FreeFromPool();
        if (slot >= 0)
            lock (_free)
                _free.Push(slot);
    }

    private int Update(int slot, byte* pointer, nuint length) => (int)_ring.InvokeOnOwnerThread(() =>
    {
        iovec iov;
        iov.iov_base = pointer;
        iov.iov_len = length;
        ulong tag = 0;
        return Liburing.io_uring_register_buffers_update_tag(_ring.NativeRing, (uint)slot, &iov, &tag, 1);
    });

    /// <summary>Unregisters the table; buffers still allocated are freed when disposed. Idempotent.</summary>
    public void Dispose()
    {
        lock (_free)
        {
            if (_disposed)
                return;
            _disposed = true;
        }
        _ring.ForgetBufferTable(this);
        if (!_ring.IsDisposed)
        {
            try
            {
                _ring.InvokeOnOwnerThread(() => Liburing.io_uring_unregister_buffers(_ring.NativeRing));
            }
            catch (RingDisposedException)
            {
            }
        }
    }
}
