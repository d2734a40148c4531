using System.Runtime.InteropServices;

namespace Uring;

/// <summary>
/// Counts the native memory the façade holds: <see cref="OwnershipMemory"/> blocks, ring
/// state and per-operation scratch space. Tests use it to prove that everything lent to the
/// kernel comes back and is released; the numbers are process-wide.
/// </summary>
public static unsafe class NativeMemoryStatistics
{
    private static long s_liveBytes;
    private static long s_liveAllocations;

    /// <summary>Bytes currently allocated by the façade.</summary>
    public static long LiveBytes => Interlocked.Read(ref s_liveBytes);

    /// <summary>Native blocks currently allocated by the façade.</summary>
    public static long LiveAllocations => Interlocked.Read(ref s_liveAllocations);

    internal static void* Allocate(nuint size, nuint alignment)
    {
        var p = NativeMemory.AlignedAlloc(size, alignment);
        if (p == null)
            throw new OutOfMemoryException($"Could not allocate {size} bytes of native memory aligned to {alignment}.");
        Interlocked.Add(ref s_liveBytes, (long)size);
        Interlocked.Increment(ref s_liveAllocations);
        return p;
    }

    internal static void* AllocateZeroed(nuint size, nuint alignment)
    {
        var p = Allocate(size, alignment);
        NativeMemory.Clear(p, size);
        return p;
    }

    internal static void Free(void* p, nuint size)
    {
        if (p == null)
            return;
        NativeMemory.AlignedFree(p);
        Interlocked.Add(ref s_liveBytes, -(long)size);
        Interlocked.Decrement(ref s_liveAllocations);
    }
}
