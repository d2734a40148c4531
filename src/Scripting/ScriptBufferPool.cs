namespace Uring.Scripting;

/// <summary>
/// The "pool" of every buffer a script creates. The façade disposes a buffer itself when its
/// operation fails or is cancelled — after the CQE. A script still holds that buffer, so the
/// pool hands it straight back to the script (usable again: the kernel is done with it). Only
/// an explicit release by the script frees the memory.
/// </summary>
internal sealed class ScriptBufferPool : IOwnershipMemoryPool
{
    internal static readonly ScriptBufferPool Instance = new();

    [ThreadStatic] private static OwnershipMemory? t_releasing;

    private ScriptBufferPool() { }

    internal static OwnershipMemory Allocate(int length, int alignment) => OwnershipMemory.AllocateForPool(length, alignment, Instance);

    /// <summary>Frees the buffer for good; throws <see cref="BufferBusyException"/> while the kernel owns it.</summary>
    internal static void Release(OwnershipMemory memory)
    {
        t_releasing = memory;
        try
        {
            memory.Dispose();
        }
        finally
        {
            t_releasing = null;
        }
    }

    public void Return(OwnershipMemory memory)
    {
        if (ReferenceEquals(t_releasing, memory))
            memory.FreeFromPool();
        else
            memory.ActivateFromPool();
    }
}
