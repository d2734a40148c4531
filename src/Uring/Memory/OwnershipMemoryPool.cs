namespace Uring;

/// <summary>
/// A thread-safe pool of equally sized, aligned <see cref="OwnershipMemory"/> blocks. Disposing
/// a rented block returns it here — after the kernel's CQE when an operation borrowed it.
/// </summary>
public sealed class OwnershipMemoryPool : IOwnershipMemoryPool, IDisposable
{
    private readonly Stack<OwnershipMemory> _free = new();
    private readonly int _maxRetained;
    private bool _disposed;
    private long _returns;

    /// <summary>Creates a pool of <paramref name="blockSize"/>-byte blocks, keeping at most
    /// <paramref name="maxRetained"/> idle blocks (extra returns are freed).</summary>
    public OwnershipMemoryPool(int blockSize, int alignment = 4096, int maxRetained = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetained);
        BlockSize = blockSize;
        Alignment = alignment;
        _maxRetained = maxRetained;
    }

    /// <summary>Size of every block.</summary>
    public int BlockSize { get; }

    /// <summary>Alignment of every block.</summary>
    public int Alignment { get; }

    /// <summary>Idle blocks held by the pool.</summary>
    public int IdleCount { get { lock (_free) return _free.Count; } }

    /// <summary>How many times a block came back (tests use it to see when a cancelled buffer returned).</summary>
    public long ReturnCount => Interlocked.Read(ref _returns);

    /// <summary>Rents a block (allocating one when none is idle).</summary>
    public OwnershipMemory Rent()
    {
        lock (_free)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_free.TryPop(out var block))
            {
                block.ActivateFromPool();
                return block;
            }
        }
        return OwnershipMemory.AllocateForPool(BlockSize, Alignment, this);
    }

    /// <inheritdoc />
    public void Return(OwnershipMemory memory)
    {
        Interlocked.Increment(ref _returns);
        lock (_free)
        {
            if (!_disposed && _free.Count < _maxRetained)
            {
                _free.Push(memory);
                return;
            }
        }
        memory.FreeFromPool();
    }

    /// <summary>Frees the idle blocks; blocks still rented are freed when they come back.</summary>
    public void Dispose()
    {
        lock (_free)
        {
            _disposed = true;
            while (_free.TryPop(out var block))
                block.FreeFromPool();
        }
    }
}
