using Uring.Bindings;

namespace Uring;

/// <summary>A slot in a ring's registered file table (IOSQE_FIXED_FILE): operations name it by index instead of by fd.</summary>
public readonly record struct RegisteredFile(int Index);

/// <summary>
/// The ring's registered (fixed) file table: a sparse table of <see cref="Capacity"/> slots
/// (<c>io_uring_register_files_sparse</c>). <see cref="Register"/> puts an fd in a free slot
/// (the kernel takes its own reference: the fd may be closed afterwards and the slot stays
/// valid); <see cref="Release"/> empties the slot and makes it free again. One table per ring.
/// </summary>
public sealed unsafe class RegisteredFileTable : IDisposable
{
    private readonly Ring _ring;
    private readonly Stack<int> _free = new();
    private readonly bool[] _used;
    private bool _disposed;

    internal RegisteredFileTable(Ring ring, int capacity)
    {
        _ring = ring;
        Capacity = capacity;
        _used = new bool[capacity];
        for (var i = capacity - 1; i >= 0; i--)
            _free.Push(i);
        var r = (int)ring.InvokeOnOwnerThread(() => Liburing.io_uring_register_files_sparse(ring.NativeRing, (uint)capacity));
        if (r < 0)
            throw new UringIOException(-r, $"io_uring_register_files_sparse({capacity})");
    }

    /// <summary>Number of slots.</summary>
    public int Capacity { get; }

    /// <summary>Slots not in use.</summary>
    public int FreeSlots { get { lock (_free) return _free.Count; } }

    /// <summary>Puts <paramref name="fd"/> in a free slot.</summary>
    /// <exception cref="InvalidOperationException">Every slot is in use.</exception>
    /// <exception cref="UringIOException">The kernel refused the fd (e.g. EBADF).</exception>
    public RegisteredFile Register(int fd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        int slot;
        lock (_free)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_free.TryPop(out slot))
                throw new InvalidOperationException($"All {Capacity} registered file slots are in use; release one first.");
            _used[slot] = true;
        }
        var r = Update(slot, fd);
        if (r < 0)
        {
            lock (_free)
            {
                _used[slot] = false;
                _free.Push(slot);
            }
            throw new UringIOException(-r, $"io_uring_register_files_update(slot {slot}, fd {fd})");
        }
        return new RegisteredFile(slot);
    }

    /// <summary>Empties the slot (the kernel drops its reference once operations using it are done) and frees it for reuse.</summary>
    /// <exception cref="InvalidOperationException">The slot is not in use.</exception>
    public void Release(RegisteredFile file)
    {
        lock (_free)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if ((uint)file.Index >= (uint)Capacity || !_used[file.Index])
                throw new InvalidOperationException($"Registered file slot {file.Index} is not in use.");
        }
        var r = Update(file.Index, -1);
        if (r < 0)
            throw new UringIOException(-r, $"io_uring_register_files_update(slot {file.Index}, -1)");
        lock (_free)
        {
            _used[file.Index] = false;
            _free.Push(file.Index);
        }
    }

    internal void CheckInUse(RegisteredFile file)
    {
        lock (_free)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if ((uint)file.Index >= (uint)Capacity || !_used[file.Index])
                throw new ArgumentException($"Registered file slot {file.Index} is not in use.", nameof(file));
        }
    }

    private int Update(int slot, int fd) => (int)_ring.InvokeOnOwnerThread(() =>
    {
        var value = fd;
        return Liburing.io_uring_register_files_update(_ring.NativeRing, (uint)slot, &value, 1);
    });

    /// <summary>Unregisters the whole table. Idempotent.</summary>
    public void Dispose()
    {
        lock (_free)
        {
            if (_disposed)
                return;
            _disposed = true;
        }
        _ring.ForgetFileTable(this);
        if (!_ring.IsDisposed)
        {
            try
            {
                _ring.InvokeOnOwnerThread(() => Liburing.io_uring_unregister_files(_ring.NativeRing));
            }
            catch (RingDisposedException)
            {
            }
        }
    }
}
