using System.Buffers;

namespace Uring;

/// <summary>
/// A <see cref="MemoryPool{T}"/> of fixed-size blocks allocated on the pinned object heap. Memory
/// that a receive lends to the kernel may stay pinned for as long as a connection is idle; blocks
/// that never move cost the garbage collector nothing while pinned (an ordinary array pinned that
/// long keeps the GC from compacting around it), and pinning one takes no GC handle.
/// <see cref="SocketPipe"/> uses <see cref="Default"/> for its pipes unless given another pool.
/// </summary>
public sealed class PinnedBlockPool : MemoryPool<byte>
{
    /// <summary>The default block size: 16 KiB.</summary>
    public const int DefaultBlockSize = 16 * 1024;

    private readonly Stack<Block> _free = new();
    private readonly int _maxRetained;
    private long _rented;

    /// <summary>A process-wide pool of 16 KiB blocks keeping up to 1024 idle blocks.</summary>
    public static PinnedBlockPool Default { get; } = new(DefaultBlockSize, 1024);

    /// <summary>A pool of <paramref name="blockSize"/>-byte blocks, keeping up to <paramref name="maxRetained"/> idle ones.</summary>
    public PinnedBlockPool(int blockSize = DefaultBlockSize, int maxRetained = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetained);
        BlockSize = blockSize;
        _maxRetained = maxRetained;
    }

    /// <summary>The size of every block.</summary>
    public int BlockSize { get; }

    /// <inheritdoc />
    public override int MaxBufferSize => BlockSize;

    /// <summary>Blocks rented and not yet returned.</summary>
    public long Rented => Interlocked.Read(ref _rented);

    /// <summary>A block of <see cref="BlockSize"/> bytes; its Dispose returns it here.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minimumLength"/> exceeds <see cref="BlockSize"/>.</exception>
    public override IMemoryOwner<byte> Rent(int minimumLength = -1)
    {
        if (minimumLength > BlockSize)
            throw new ArgumentOutOfRangeException(nameof(minimumLength), minimumLength, $"This pool's blocks have {BlockSize} bytes.");
        Block? block;
        lock (_free)
            _free.TryPop(out block);
        block ??= new Block(this, GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true));
        block.Rent();
        Interlocked.Increment(ref _rented);
        return block;
    }

    private void Return(Block block)
    {
        Interlocked.Decrement(ref _rented);
        lock (_free)
        {
            if (_free.Count < _maxRetained)
                _free.Push(block);
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        lock (_free)
            _free.Clear();
    }

    private sealed unsafe class Block(PinnedBlockPool pool, byte[] array) : MemoryManager<byte>
    {
        private int _rented;

        public void Rent() => Volatile.Write(ref _rented, 1);

        public override Span<byte> GetSpan() => array;

        // The array lives on the pinned object heap: its address never changes, so no GC handle is needed.
        public override MemoryHandle Pin(int elementIndex = 0)
        {
            if ((uint)elementIndex > (uint)array.Length)
                throw new ArgumentOutOfRangeException(nameof(elementIndex));
            return new MemoryHandle((byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(array)) + elementIndex);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
            if (Interlocked.Exchange(ref _rented, 0) == 1)
                pool.Return(this);
        }
    }
}
