using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Uring.Scripting;

// OwnershipMemory for native callers: create, view, state, release.
public static unsafe partial class Exports
{
    // ------------------------------------------------------------------ buffers

    /// <summary><c>int uring_buffer_create(int length, int alignment, intptr_t* buffer, int* id)</c>: zeroed native memory owned by the caller, and its small id.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_buffer_create")]
    public static int BufferCreate(int length, int alignment, nint* buffer, int* id)
    {
        try
        {
            var memory = ScriptBufferPool.Allocate(length, alignment <= 0 ? 4096 : alignment);
            *buffer = GCHandle.ToIntPtr(GCHandle.Alloc(memory));
            *id = HandleTable.Add(memory);
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary>
    /// <c>int uring_buffer_view(intptr_t buffer, uint8_t** pointer, int* length)</c>: the memory, only while the caller
    /// owns it (otherwise a BufferBusy or ObjectDisposed error).
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_buffer_view")]
    public static int BufferView(nint buffer, byte** pointer, int* length)
    {
        try
        {
            var memory = ScriptArguments.Buffer(buffer);
            var span = memory.Span; // checks ownership
            *pointer = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span));
            *length = span.Length;
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_buffer_state(intptr_t buffer)</c>: 0 user, 1 kernel, 2 pooled, 3 released (<see cref="OwnershipState"/>).</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_buffer_state")]
    public static int BufferState(nint buffer)
    {
        try
        {
            return (int)ScriptArguments.Buffer(buffer).State;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary>
    /// <c>int uring_buffer_release(intptr_t buffer, int id)</c>: frees the memory, the handle and the id; refused
    /// (BufferBusy) while the kernel owns it.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_buffer_release")]
    public static int BufferRelease(nint buffer, int id)
    {
        try
        {
            var memory = ScriptArguments.Buffer(buffer);
            if (!ReferenceEquals(HandleTable.Get<OwnershipMemory>(id), memory))
                throw new ArgumentException($"Buffer id {id} does not belong to this buffer handle.", nameof(id));
            if (memory.State is OwnershipState.User)
                ScriptBufferPool.Release(memory);
            else if (memory.State is OwnershipState.Kernel)
                throw new BufferBusyException("Cannot release this buffer: it is owned by the kernel until its operation completes.");
            HandleTable.Remove(id);
            GCHandle.FromIntPtr(buffer).Free();
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }
}
