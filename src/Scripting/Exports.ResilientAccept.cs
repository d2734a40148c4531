using System.Runtime.InteropServices;

namespace Uring.Scripting;

// The parts of a resilient accept (uring_accept_multishot_resilient) that are not items: its pauses
// and cutting a back-off short.
public static unsafe partial class Exports
{
    /// <summary>
    /// <c>int uring_accept_pause_take(intptr_t ring, uint64_t token, accept_pause* info)</c>: the details of the
    /// oldest pause the resilient accept under <paramref name="token"/> reported (a completion with
    /// <see cref="Completion.EventFlag"/>), taken once, in order.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_accept_pause_take")]
    public static int AcceptPauseTake(nint ring, ulong token, AcceptPauseInfo* info)
    {
        try
        {
            *info = ScriptArguments.Ring(ring).TakeAcceptPause(token);
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary>
    /// <c>int uring_accept_retry_now(intptr_t ring, uint64_t token)</c>: ends the pending back-off of the resilient
    /// accept under <paramref name="token"/>, so it tries again at once (the timeout's cancel is prepared: submit
    /// it, or drive the ring). Nothing happens when it is not paused or has ended.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_accept_retry_now")]
    public static int AcceptRetryNow(nint ring, ulong token)
    {
        try
        {
            ScriptArguments.Ring(ring).RetryAccept(token);
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }
}
