using System.Runtime.InteropServices;

namespace Uring.Scripting;

// Resources registered with a ring: provided buffer rings, the registered file table and the
// registered buffer table. Each is a GCHandle the caller frees.
public static unsafe partial class Exports
{
    /// <summary>
    /// <c>int uring_buffer_ring_create(intptr_t ring, int count, int size, intptr_t* buffer_ring)</c>: a provided
    /// buffer ring (io_uring_setup_buf_ring) of <paramref name="count"/> (a power of two) buffers of <paramref name="size"/> bytes.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_buffer_ring_create")]
    public static int BufferRingCreate(nint ring, int count, int size, nint* bufferRing)
    {
        try
        {
            var br = ScriptArguments.Ring(ring).Open().CreateBufferRing(count, size);
            *bufferRing = GCHandle.ToIntPtr(GCHandle.Alloc(br));
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_buffer_ring_free(intptr_t buffer_ring)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_buffer_ring_free")]
    public static int BufferRingFree(nint bufferRing)
    {
        try
        {
            ScriptArguments.BufferRing(bufferRing).Dispose();
            GCHandle.FromIntPtr(bufferRing).Free();
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_file_table_create(intptr_t ring, int capacity, intptr_t* table)</c>: the ring's registered file table (one per ring).</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_file_table_create")]
    public static int FileTableCreate(nint ring, int capacity, nint* table)
    {
        try
        {
            var t = ScriptArguments.Ring(ring).Open().RegisterFiles(capacity);
            *table = GCHandle.ToIntPtr(GCHandle.Alloc(t));
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_file_register(intptr_t table, int fd)</c>: puts <paramref name="fd"/> in a free slot; returns the slot index.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_file_register")]
    public static int FileRegister(nint table, int fd)
    {
        try
        {
            return ScriptArguments.Target<RegisteredFileTable>(table, "file table").Register(fd).Index;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_file_release(intptr_t table, int index)</c>: empties a slot.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_file_release")]
    public static int FileRelease(nint table, int index)
    {
        try
        {
            ScriptArguments.Target<RegisteredFileTable>(table, "file table").Release(new RegisteredFile(index));
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_file_table_free(intptr_t table)</c>: unregisters the table and frees the handle.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_file_table_free")]
    public static int FileTableFree(nint table)
    {
        try
        {
            ScriptArguments.Target<RegisteredFileTable>(table, "file table").Dispose();
            GCHandle.FromIntPtr(table).Free();
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_buffer_table_create(intptr_t ring, int capacity, intptr_t* table)</c>: the ring's registered buffer table (one per ring).</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_buffer_table_create")]
    public static int BufferTableCreate(nint ring, int capacity, nint* table)
    {
        try
        {
            var t = ScriptArguments.Ring(ring).Open().RegisterBuffers(capacity);
            *table = GCHandle.ToIntPtr(GCHandle.Alloc(t));
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary>
    /// <c>int uring_buffer_table_allocate(intptr_t table, int length, intptr_t* buffer, int* id)</c>: a buffer
    /// registered in a free slot; returns the slot index. The buffer is released like any other
    /// (<see cref="BufferRelease"/>), which frees the slot.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_buffer_table_allocate")]
    public static int BufferTableAllocate(nint table, int length, nint* buffer, int* id)
    {
        try
        {
            var registered = ScriptArguments.Target<RegisteredBufferTable>(table, "buffer table").Allocate(length);
            *buffer = GCHandle.ToIntPtr(GCHandle.Alloc(registered.Memory));
            *id = HandleTable.Add(registered.Memory);
            return registered.Index;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_buffer_table_free(intptr_t table)</c>: unregisters the table and frees the handle.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_buffer_table_free")]
    public static int BufferTableFree(nint table)
    {
        try
        {
            ScriptArguments.Target<RegisteredBufferTable>(table, "buffer table").Dispose();
            GCHandle.FromIntPtr(table).Free();
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }
}
