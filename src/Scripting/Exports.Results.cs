using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Uring.Scripting;

// What a completion's int cannot carry, taken once by token; cancels; leases of received
// buffers; the 32-bit reap of the hot path; NOP batches.
public static unsafe partial class Exports
{
    /// <summary>Returned by the fast entry points (wait_ms &gt;= 0) when the operation did not complete within the
    /// wait: it goes on under its token, and ends as a completion like any other.</summary>
    public const int Pending = int.MinValue;

    /// <summary><c>int uring_set_reap_buffer(intptr_t ring, completion* array, int capacity)</c>: the array <see cref="ReapI"/> fills (the caller keeps it alive as long as the ring).</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_set_reap_buffer")]
    public static int SetReapBuffer(nint ring, Completion* completions, int capacity)
    {
        try
        {
            ScriptArguments.Ring(ring).SetReapBuffer(completions, capacity);
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_reap_i(int ring, int timeout_ms)</c>: <see cref="Reap"/> into the registered array.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_reap_i")]
    public static int ReapI(int ring, int timeoutMs)
    {
        try
        {
            return HandleTable.Get<ScriptRing>(ring).ReapRegistered(timeoutMs);
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary>
    /// <c>int uring_nop_batch(intptr_t ring, uint64_t first_token, int count)</c>: <paramref name="count"/>
    /// nops with tokens first_token, first_token + 1, ...; returns how many were started (all, unless an error stopped it).
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_nop_batch")]
    public static int NopBatch(nint ring, ulong firstToken, int count)
    {
        var started = 0;
        try
        {
            var r = ScriptArguments.Ring(ring);
            for (; started < count; started++)
            {
                var token = firstToken + (ulong)started;
                r.CheckToken(token);
                r.Track(token, r.Ring.Nop());
            }
            return started;
        }
        catch (Exception e)
        {
            var code = ExportGuard.Fail(e);
            return started > 0 ? started : code;
        }
    }

    /// <summary>
    /// <c>int uring_cancel(intptr_t ring, uint64_t target, uint64_t token)</c>: IORING_OP_ASYNC_CANCEL for the
    /// operation named <paramref name="target"/>; its own completion (under <paramref name="token"/>) carries a
    /// <see cref="CancelOutcome"/>. The target still ends with its own completion, after the kernel's CQE.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_cancel")]
    public static int Cancel(nint ring, ulong target, ulong token)
    {
        try
        {
            ScriptArguments.Ring(ring).Cancel(target, token);
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_statx_take(intptr_t ring, uint64_t token, statx_info* info)</c>: the result of a completed statx (taken once).</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_statx_take")]
    public static int StatxTake(nint ring, ulong token, StatxInfo* info)
    {
        try
        {
            *info = StatxInfo.From(ScriptArguments.Ring(ring).TakeDetail<StatxResult>(token));
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary>
    /// <c>int uring_detail_take(intptr_t ring, uint64_t token, result_detail* detail)</c>: what a completed
    /// pipe, accept or recvmsg returned beside its int (taken once): the second fd, the peer's address (as
    /// text, with its port), the MSG_* flags.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_detail_take")]
    public static int DetailTake(nint ring, ulong token, ResultDetail* detail)
    {
        try
        {
            *detail = ResultDetail.From(ScriptArguments.Ring(ring).TakeDetail<object>(token));
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary>
    /// <c>int uring_lease_take(intptr_t ring, uint64_t token)</c>: the next buffer received under <paramref name="token"/>
    /// (a provided-buffer recv, or an item of a multishot recv, in completion order) as a lease id (&gt; 0).
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_lease_take")]
    public static int LeaseTake(nint ring, ulong token)
    {
        try
        {
            return ScriptArguments.Ring(ring).TakeLease(token);
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_lease_view(intptr_t ring, int lease, uint8_t** pointer, int* length)</c>: the received bytes.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_lease_view")]
    public static int LeaseView(nint ring, int lease, byte** pointer, int* length)
    {
        try
        {
            var leased = ScriptArguments.Ring(ring).Lease(lease);
            if (leased.Memory is null)
            {
                *pointer = null;
                *length = 0;
                return 0;
            }
            var span = leased.Span;
            *pointer = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span));
            *length = span.Length;
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_lease_release(intptr_t ring, int lease)</c>: gives the buffer back to its buffer ring.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_lease_release")]
    public static int LeaseRelease(nint ring, int lease)
    {
        try
        {
            ScriptArguments.Ring(ring).ReleaseLease(lease);
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_stream_cancel(intptr_t ring, uint64_t token)</c>: stops a multishot stream (its last completion follows, after the kernel's CQE).</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_stream_cancel")]
    public static int StreamCancel(nint ring, ulong token)
    {
        try
        {
            ScriptArguments.Ring(ring).CancelStream(token);
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }
}
