using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Uring.Scripting;

/// <summary>
/// The C ABI over the façade, for native hosts (Python's <c>uring</c> package reaches it
/// through libhostfxr's <c>load_assembly_and_get_function_pointer</c> with
/// UNMANAGEDCALLERSONLY_METHOD).
/// </summary>
/// <remarks>
/// <para>Every entry point returns an <c>int</c>: negative is <c>-errno</c> and the details
/// (an <see cref="ErrorKind"/>, the errno and a message) are in the calling thread's last
/// error, read with <see cref="LastErrorMessage"/>. No exception crosses the boundary.</para>
/// <para>Rings and buffers are GCHandles passed as <c>intptr_t</c>; each also has a small id for
/// the 32-bit entry points (<c>Exports.Int32.cs</c>), which repeat the hot operations with
/// int-only arguments because a caller like ctypes converts those at half the cost. Operations
/// take a caller-chosen token and end as a <see cref="Completion"/> with that token, drained in
/// batches with <see cref="Reap"/>. A ring must be used from the thread that created it.</para>
/// <para>A host resolves <see cref="Export"/> through hostfxr and every other entry point
/// through it, by name. Published with NativeAOT (<c>Uring.Scripting.so</c>), every entry point is
/// a C symbol, the <c>EntryPoint</c> of its attribute, and <see cref="Export"/> is not needed.</para>
/// </remarks>
public static unsafe partial class Exports
{
    /// <summary>The ABI version; the Python package checks it.</summary>
    public const int AbiVersion = 3;

    /// <summary>Ring creation flag: IORING_SETUP_SQPOLL.</summary>
    public const int RingFlagSqPoll = 1;

    /// <summary>Ring creation flag: no SINGLE_ISSUER | DEFER_TASKRUN (COOP_TASKRUN instead).</summary>
    public const int RingFlagNoDeferTaskrun = 2;

    // ------------------------------------------------------------------ misc

    /// <summary><c>int uring_abi_version(void)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_version")]
    public static int Version() => AbiVersion;

    /// <summary>
    /// <c>int uring_export(const char* name, void** function)</c>: the native-callable address of the entry point
    /// called <paramref name="name"/> (a public [UnmanagedCallersOnly] method of this class). Binding through it
    /// costs microseconds per function, against about a millisecond through hostfxr's
    /// load_assembly_and_get_function_pointer, which a host then needs for this one function only.
    /// It resolves by reflection, so it works only where the runtime runs the assembly (hostfxr): in the
    /// NativeAOT library it fails with an InvalidOperation error, and the compiler keeps no reflection data for it.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_export")]
    public static int Export(byte* name, void** function)
    {
        try
        {
            // A constant false under NativeAOT: the compiler drops the reflection below.
            if (!RuntimeFeature.IsDynamicCodeSupported)
                throw new InvalidOperationException("uring_export needs the .NET runtime; in the NativeAOT library, bind the uring_* symbols directly.");
            var text = Marshal.PtrToStringUTF8((nint)name) ?? throw new ArgumentNullException(nameof(name));
            var method = typeof(Exports).GetMethod(text, BindingFlags.Public | BindingFlags.Static);
            if (method is null || method.GetCustomAttribute<UnmanagedCallersOnlyAttribute>() is null)
                throw new ArgumentException($"No entry point named '{text}'.", nameof(name));
            *function = (void*)method.MethodHandle.GetFunctionPointer();
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_last_error(char* buf, int cap, int* kind, int* errno)</c>: the message's full UTF-8 length.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_last_error_message")]
    public static int LastErrorMessage(byte* buffer, int capacity, int* kind, int* errno)
    {
        try
        {
            return LastError.Get(buffer, capacity, kind, errno);
        }
        catch
        {
            return 0;
        }
    }

    /// <summary><c>int uring_native_memory(int64_t* live_bytes, int64_t* live_allocations)</c>: the façade's native memory counters.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_native_memory")]
    public static int NativeMemory(long* liveBytes, long* liveAllocations)
    {
        try
        {
            *liveBytes = NativeMemoryStatistics.LiveBytes;
            *liveAllocations = NativeMemoryStatistics.LiveAllocations;
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    // ------------------------------------------------------------------ rings

    /// <summary>
    /// <c>int uring_ring_create(uint32_t entries, int flags, int shutdown_timeout_ms, intptr_t* ring, int* event_fd, int* id)</c>:
    /// a ring owned by the calling thread, the eventfd (non-blocking) that the kernel signals when it posts
    /// completions, and the ring's small id for the 32-bit entry points.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_ring_create")]
    public static int RingCreate(uint entries, int flags, int shutdownTimeoutMs, nint* ring, int* eventFd, int* id)
    {
        try
        {
            var options = new RingOptions
            {
                Entries = entries == 0 ? 256 : entries,
                SqPoll = (flags & RingFlagSqPoll) != 0,
                DeferTaskrun = (flags & RingFlagNoDeferTaskrun) == 0,
            };
            if (shutdownTimeoutMs >= 0)
                options.ShutdownTimeout = TimeSpan.FromMilliseconds(shutdownTimeoutMs);
            var scriptRing = ScriptRing.Create(options);
            scriptRing.Id = HandleTable.Add(scriptRing);
            *ring = GCHandle.ToIntPtr(GCHandle.Alloc(scriptRing));
            *eventFd = scriptRing.EventFd;
            *id = scriptRing.Id;
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary>
    /// <c>int uring_ring_close(intptr_t ring)</c>: cancels what is in flight, waits (bounded) for the
    /// CQEs and closes the ring; their completions stay readable with <see cref="Reap"/>.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_ring_close")]
    public static int RingClose(nint ring)
    {
        try
        {
            ScriptArguments.Ring(ring).Close();
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_ring_free(intptr_t ring)</c>: closes the ring if needed, closes the eventfd and frees the handle.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_ring_free")]
    public static int RingFree(nint ring)
    {
        try
        {
            var r = ScriptArguments.Ring(ring);
            r.Free();
            HandleTable.Remove(r.Id);
            GCHandle.FromIntPtr(ring).Free();
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_ring_info(intptr_t ring, uint32_t* sq_entries, uint32_t* cq_entries, uint32_t* setup_flags, uint32_t* features)</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_ring_info")]
    public static int RingInfo(nint ring, uint* sqEntries, uint* cqEntries, uint* setupFlags, uint* features)
    {
        try
        {
            var r = ScriptArguments.Ring(ring).Ring;
            *sqEntries = r.SubmissionQueueEntries;
            *cqEntries = r.CompletionQueueEntries;
            *setupFlags = r.SetupFlags;
            *features = r.Features;
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_ring_in_flight(intptr_t ring)</c>: operations whose completion has not been queued yet.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_ring_in_flight")]
    public static int RingInFlight(nint ring)
    {
        try
        {
            return ScriptArguments.Ring(ring).InFlight;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_submit(intptr_t ring)</c>: submits what is prepared and reaps what is ready, without waiting; returns the completions queued.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_submit")]
    public static int Submit(nint ring)
    {
        try
        {
            return ScriptArguments.Ring(ring).Drive(0);
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary>
    /// <c>int uring_reap(intptr_t ring, completion* out, int capacity, int timeout_ms)</c>: submits, reaps,
    /// and copies up to <paramref name="capacity"/> completions; waits up to <paramref name="timeoutMs"/>
    /// (-1: no limit) when none is ready and something is in flight. Returns how many were copied.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_reap")]
    public static int Reap(nint ring, Completion* completions, int capacity, int timeoutMs)
    {
        try
        {
            if (capacity < 0 || (completions == null && capacity > 0))
                throw new ArgumentException("Bad completion array.");
            return ScriptArguments.Ring(ring).Reap(completions, capacity, timeoutMs);
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_completion_message(intptr_t ring, uint64_t token, char* buf, int cap)</c>: the message of a failed completion (taken once; 0 bytes when none).</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_completion_message")]
    public static int CompletionMessage(nint ring, ulong token, byte* buffer, int capacity)
    {
        try
        {
            var message = ScriptArguments.Ring(ring).TakeMessage(token);
            return message is null ? 0 : LastError.CopyUtf8(message, buffer, capacity);
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }
}
