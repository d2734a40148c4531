using System.Runtime.InteropServices;

namespace Uring.Scripting;

// File, timeout and cancel operations: each takes a ring handle and a token, and ends as a Completion.
public static unsafe partial class Exports
{
    // ------------------------------------------------------------------ operations

    /// <summary><c>int uring_nop(intptr_t ring, uint64_t token)</c>.</summary>
    [UnmanagedCallersOnly]
    public static int Nop(nint ring, ulong token)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.Nop());
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary>
    /// <c>int uring_nop_batch(intptr_t ring, uint64_t first_token, int count)</c>: <paramref name="count"/>
    /// nops with tokens first_token, first_token + 1, ...; returns how many were started (all, unless an error stopped it).
    /// </summary>
    [UnmanagedCallersOnly]
    public static int NopBatch(nint ring, ulong firstToken, int count)
    {
        var started = 0;
        try
        {
            var r = RingOf(ring);
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
            var code = LastError.Set(e);
            return started > 0 ? started : code;
        }
    }

    /// <summary>
    /// <c>int uring_read(intptr_t ring, uint64_t token, int fd, intptr_t buffer, int64_t offset, int length, int64_t timeout_ns)</c>:
    /// IORING_OP_READ into the buffer (length -1: all of it) at offset (-1: the file position); with
    /// timeout_ns &gt; 0, linked to an IORING_OP_LINK_TIMEOUT. The result is the byte count.
    /// </summary>
    [UnmanagedCallersOnly]
    public static int Read(nint ring, ulong token, int fd, nint buffer, long offset, int length, long timeoutNs)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            var memory = BufferOf(buffer);
            r.Track(token, timeoutNs > 0
                ? r.Ring.Read(fd, memory, offset, TimeSpan.FromTicks(Math.Max(1, timeoutNs / 100)), length)
                : r.Ring.Read(fd, memory, offset, length));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_write(intptr_t ring, uint64_t token, int fd, intptr_t buffer, int64_t offset, int length)</c>: IORING_OP_WRITE.</summary>
    [UnmanagedCallersOnly]
    public static int Write(nint ring, ulong token, int fd, nint buffer, long offset, int length)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.Write(fd, BufferOf(buffer), offset, length));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_openat(intptr_t ring, uint64_t token, int dir_fd, const char* path_utf8, int flags, uint32_t mode)</c>: the result is the new fd (O_CLOEXEC is always added).</summary>
    [UnmanagedCallersOnly]
    public static int OpenAt(nint ring, ulong token, int directoryFd, byte* path, int flags, uint mode)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            if (path == null)
                throw new ArgumentNullException(nameof(path));
            r.Track(token, r.Ring.OpenAt(directoryFd, Marshal.PtrToStringUTF8((nint)path)!, flags, mode));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_close(intptr_t ring, uint64_t token, int fd)</c>: IORING_OP_CLOSE.</summary>
    [UnmanagedCallersOnly]
    public static int Close(nint ring, ulong token, int fd)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.Close(fd));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_fsync(intptr_t ring, uint64_t token, int fd, int data_only)</c>: IORING_OP_FSYNC.</summary>
    [UnmanagedCallersOnly]
    public static int Fsync(nint ring, ulong token, int fd, int dataOnly)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, dataOnly != 0 ? r.Ring.Fdatasync(fd) : r.Ring.Fsync(fd));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary>
    /// <c>int uring_timeout(intptr_t ring, uint64_t token, int64_t nanoseconds, uint32_t count)</c>: IORING_OP_TIMEOUT;
    /// the result is 1 when the time elapsed, 0 when <paramref name="count"/> other completions came first.
    /// </summary>
    [UnmanagedCallersOnly]
    public static int Timeout(nint ring, ulong token, long nanoseconds, uint count)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            if (nanoseconds < 0)
                throw new ArgumentOutOfRangeException(nameof(nanoseconds), nanoseconds, "A timeout cannot be negative.");
            r.Track(token, r.Ring.Timeout(TimeSpan.FromTicks(nanoseconds / 100), count));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary>
    /// <c>int uring_cancel(intptr_t ring, uint64_t target, uint64_t token)</c>: IORING_OP_ASYNC_CANCEL for the
    /// operation named <paramref name="target"/>; its own completion (under <paramref name="token"/>) carries a
    /// <see cref="CancelOutcome"/>. The target still ends with its own completion, after the kernel's CQE.
    /// </summary>
    [UnmanagedCallersOnly]
    public static int Cancel(nint ring, ulong target, ulong token)
    {
        try
        {
            RingOf(ring).Cancel(target, token);
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary>
    /// <c>int uring_readv(intptr_t ring, uint64_t token, int fd, const intptr_t* buffers, int count, int64_t offset)</c>:
    /// IORING_OP_READV scattering into up to 16 buffers; the result is the total byte count.
    /// </summary>
    [UnmanagedCallersOnly]
    public static int ReadV(nint ring, ulong token, int fd, nint* buffers, int count, long offset)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.ReadV(fd, BuffersOf(buffers, count), offset));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_writev(intptr_t ring, uint64_t token, int fd, const intptr_t* buffers, int count, int64_t offset)</c>: IORING_OP_WRITEV.</summary>
    [UnmanagedCallersOnly]
    public static int WriteV(nint ring, ulong token, int fd, nint* buffers, int count, long offset)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.WriteV(fd, BuffersOf(buffers, count), offset));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_fallocate(intptr_t ring, uint64_t token, int fd, int64_t offset, int64_t length, int mode)</c>: IORING_OP_FALLOCATE.</summary>
    [UnmanagedCallersOnly]
    public static int Fallocate(nint ring, ulong token, int fd, long offset, long length, int mode)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.Fallocate(fd, offset, length, mode));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary>
    /// <c>int uring_splice(intptr_t ring, uint64_t token, int fd_in, int64_t offset_in, int fd_out, int64_t offset_out, int length, uint32_t flags)</c>:
    /// IORING_OP_SPLICE (one side a pipe, whose offset is -1); the result is the byte count.
    /// </summary>
    [UnmanagedCallersOnly]
    public static int Splice(nint ring, ulong token, int fdIn, long offsetIn, int fdOut, long offsetOut, int length, uint flags)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.Splice(fdIn, offsetIn, fdOut, offsetOut, length, flags));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_tee(intptr_t ring, uint64_t token, int fd_in, int fd_out, int length, uint32_t flags)</c>: IORING_OP_TEE between two pipes.</summary>
    [UnmanagedCallersOnly]
    public static int Tee(nint ring, ulong token, int fdIn, int fdOut, int length, uint flags)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.Tee(fdIn, fdOut, length, flags));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_poll_add(intptr_t ring, uint64_t token, int fd, uint32_t events)</c>: one-shot IORING_OP_POLL_ADD; the result is the ready events (POLLIN 1, POLLOUT 4, ...).</summary>
    [UnmanagedCallersOnly]
    public static int PollAdd(nint ring, ulong token, int fd, uint events)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.PollAdd(fd, (PollEvents)events));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary>
    /// <c>int uring_statx(intptr_t ring, uint64_t token, int dir_fd, const char* path, int flags, uint32_t mask)</c>:
    /// IORING_OP_STATX (AT_EMPTY_PATH 0x1000 with an empty path stats <paramref name="directoryFd"/> itself). The
    /// completion's result is 0; the data is taken with <see cref="StatxTake"/>.
    /// </summary>
    [UnmanagedCallersOnly]
    public static int Statx(nint ring, ulong token, int directoryFd, byte* path, int flags, uint mask)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            if (path == null)
                throw new ArgumentNullException(nameof(path));
            r.Track(token, r.Ring.Statx(directoryFd, Marshal.PtrToStringUTF8((nint)path)!, flags, mask));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_statx_take(intptr_t ring, uint64_t token, statx_info* info)</c>: the result of a completed statx (taken once).</summary>
    [UnmanagedCallersOnly]
    public static int StatxTake(nint ring, ulong token, StatxInfo* info)
    {
        try
        {
            *info = StatxInfo.From(RingOf(ring).TakeStatx(token));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }
}
