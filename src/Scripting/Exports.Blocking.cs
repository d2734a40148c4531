using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Uring.Scripting;

// Submit-and-wait in one call, for scripts that do one thing at a time.
public static unsafe partial class Exports
{
    // ------------------------------------------------------------------ blocking fast paths

    /// <summary>Returned by the *Wait entry points when the operation did not complete within the wait:
    /// it goes on under its token, and ends as a completion like any other.</summary>
    public const int Pending = int.MinValue;

    /// <summary>
    /// <c>int uring_nop_wait(intptr_t ring, uint64_t token, int wait_ms)</c>: a NOP submitted and waited for in
    /// one call: the cheapest round trip for a script doing one thing at a time (see <see cref="ReadWait"/>).
    /// </summary>
    [UnmanagedCallersOnly]
    public static int NopWait(nint ring, ulong token, int waitMs)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            return WaitOrTrack(r, token, r.Ring.Nop(), waitMs);
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary>
    /// <c>int uring_read_wait(intptr_t ring, uint64_t token, int fd, intptr_t buffer, int64_t offset, int length, int wait_ms)</c>:
    /// IORING_OP_READ submitted and waited for (up to <paramref name="waitMs"/>) in one call, like pread; returns the
    /// byte count. If it is still in flight then, it returns <see cref="Pending"/> and the read goes on under
    /// <paramref name="token"/> (the caller waits for its completion; a short wait keeps the caller responsive to signals).
    /// </summary>
    [UnmanagedCallersOnly]
    public static int ReadWait(nint ring, ulong token, int fd, nint buffer, long offset, int length, int waitMs)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            return WaitOrTrack(r, token, r.Ring.Read(fd, BufferOf(buffer), offset, length), waitMs);
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_write_wait(intptr_t ring, uint64_t token, int fd, intptr_t buffer, int64_t offset, int length, int wait_ms)</c>: like pwrite (see <see cref="ReadWait"/>).</summary>
    [UnmanagedCallersOnly]
    public static int WriteWait(nint ring, ulong token, int fd, nint buffer, long offset, int length, int waitMs)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            return WaitOrTrack(r, token, r.Ring.Write(fd, BufferOf(buffer), offset, length), waitMs);
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    private static int WaitOrTrack<T>(ScriptRing ring, ulong token, CancelableFuture<T> future, int waitMs)
    {
        if (!future.Wait(TimeSpan.FromMilliseconds(Math.Max(0, waitMs))))
        {
            ring.Track(token, future);
            return Pending;
        }
        var value = future.Result;
        if (typeof(T) == typeof(BufferResult<OwnershipMemory>))
            return Unsafe.As<T, BufferResult<OwnershipMemory>>(ref value).BytesTransferred;
        return Unsafe.As<T, int>(ref value);
    }
}
