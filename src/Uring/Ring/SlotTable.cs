namespace Uring;

/// <summary>
/// The operations in the kernel, by slot: an SQE's user_data is <c>generation &lt;&lt; 32 | slot</c>,
/// so a CQE finds its operation without a lookup, and a cancel (or a late CQE) aimed at an
/// operation that has left the slot can never reach the next operation in it. Each slot owns a
/// piece of scratch memory (<see cref="ScratchMemory"/>) for its operation. Owner thread only.
/// </summary>
internal sealed unsafe class SlotTable
{
    private const int SlotsPerChunk = 64;

    private Slot[] _slots = new Slot[SlotsPerChunk];
    private int[] _free = new int[SlotsPerChunk];
    private int _freeCount;
    private int _highWater;
    private readonly List<IntPtr> _scratchChunks = new();

    // A struct, so storing one skips the covariant array-store check.
    private struct Slot
    {
        public Operation? Operation;
        public byte* Scratch;
        public uint Generation;
    }

    /// <summary>Slots ever used (the scan bound for shutdown).</summary>
    internal int HighWater => _highWater;

    /// <summary>Gives <paramref name="op"/> a slot, its user_data and its scratch memory.</summary>
    internal void Assign(Operation op)
    {
        int index;
        if (_freeCount > 0)
        {
            index = _free[--_freeCount];
        }
        else
        {
            index = _highWater++;
            if (index == _slots.Length)
            {
                Array.Resize(ref _slots, _slots.Length * 2);
                Array.Resize(ref _free, _slots.Length);
            }
            if (index / SlotsPerChunk == _scratchChunks.Count)
                _scratchChunks.Add((IntPtr)NativeMemoryStatistics.AllocateZeroed(SlotsPerChunk * ScratchMemory.Size, 64));
            _slots[index].Scratch = (byte*)_scratchChunks[index / SlotsPerChunk] + (index % SlotsPerChunk) * ScratchMemory.Size;
        }
        ref var slot = ref _slots[index];
        var generation = (slot.Generation + 1) & 0x7FFF_FFFF;
        if (generation == 0)
            generation = 1;
        slot.Generation = generation;
        slot.Operation = op;
        op.Slot = index;
        op.UserData = ((ulong)generation << 32) | (uint)index;
        op.Scratch = slot.Scratch;
    }

    /// <summary>The operation a CQE's user_data names, or null for a stale or foreign one.</summary>
    internal Operation? Find(ulong userData)
    {
        var index = (int)(uint)userData;
        if ((uint)index >= (uint)_highWater)
            return null;
        ref var slot = ref _slots[index];
        return slot.Generation == (uint)(userData >> 32) ? slot.Operation : null;
    }

    /// <summary>The operation left the kernel: its slot is free again.</summary>
    internal void Release(int index)
    {
        _slots[index].Operation = null;
        _free[_freeCount++] = index;
    }

    /// <summary>The operation in slot <paramref name="index"/> (shutdown scans).</summary>
    internal Operation? At(int index) => _slots[index].Operation;

    /// <summary>Frees the scratch memory (after the last CQE; never while the kernel may still write there).</summary>
    internal void FreeScratch()
    {
        foreach (var chunk in _scratchChunks)
            NativeMemoryStatistics.Free((void*)chunk, SlotsPerChunk * ScratchMemory.Size);
        _scratchChunks.Clear();
    }

    /// <summary>The kernel never answered: the scratch memory stays allocated.</summary>
    internal void LeakScratch() => _scratchChunks.Clear();
}
