namespace Uring;

/// <summary>
/// Managed <see cref="OwnershipMemory"/> wrappers for the adapters' one-off lends
/// (<see cref="RingRandomAccess"/>): rented, pointed at the caller's memory for one operation,
/// and returned afterwards, so a call allocates no wrapper in steady state. A wrapper the ring
/// quarantined (its operation never completed) stays kernel-owned and is never returned.
/// </summary>
internal static class PinnedWrapperPool
{
    private const int MaxRetained = 256;
    private static readonly Stack<OwnershipMemory> s_free = new();

    internal static OwnershipMemory Rent(Memory<byte> memory, bool readOnly)
    {
        OwnershipMemory? wrapper;
        lock (s_free)
            s_free.TryPop(out wrapper);
        if (wrapper is null)
            return OwnershipMemory.CreateManaged(memory, readOnly);
        wrapper.Rebind(memory, readOnly);
        return wrapper;
    }

    internal static void Return(OwnershipMemory wrapper)
    {
        if (wrapper.State == OwnershipState.Kernel)
            return; // quarantined by a ring that gave up on its operation: the kernel may still use it
        wrapper.Rebind(Memory<byte>.Empty, readOnly: false); // drop the caller's memory now
        lock (s_free)
        {
            if (s_free.Count < MaxRetained)
                s_free.Push(wrapper);
        }
    }
}
