using System.Runtime.InteropServices;

namespace Uring.Scripting;

// Linked chains (IOSQE_IO_LINK / IOSQE_IO_HARDLINK): members are added with their tokens, then
// submitted together; each member ends as its own completion.
public static unsafe partial class Exports
{
    /// <summary><c>int uring_chain_create(intptr_t ring, int hard_links, intptr_t* chain)</c>: an empty chain builder.</summary>
    [UnmanagedCallersOnly]
    public static int ChainCreate(nint ring, int hardLinks, nint* chain)
    {
        try
        {
            var c = RingOf(ring).Open().CreateChain(hardLinks != 0);
            *chain = GCHandle.ToIntPtr(GCHandle.Alloc(c));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_chain_nop(intptr_t ring, intptr_t chain, uint64_t token)</c>.</summary>
    [UnmanagedCallersOnly]
    public static int ChainNop(nint ring, nint chain, ulong token)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, ChainOf(chain).Nop());
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_chain_read(intptr_t ring, intptr_t chain, uint64_t token, int fd, intptr_t buffer, int64_t offset, int length)</c>.</summary>
    [UnmanagedCallersOnly]
    public static int ChainRead(nint ring, nint chain, ulong token, int fd, nint buffer, long offset, int length)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, ChainOf(chain).Read(fd, BufferOf(buffer), offset, length));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_chain_write(intptr_t ring, intptr_t chain, uint64_t token, int fd, intptr_t buffer, int64_t offset, int length)</c>.</summary>
    [UnmanagedCallersOnly]
    public static int ChainWrite(nint ring, nint chain, ulong token, int fd, nint buffer, long offset, int length)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, ChainOf(chain).Write(fd, BufferOf(buffer), offset, length));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_chain_fsync(intptr_t ring, intptr_t chain, uint64_t token, int fd, int data_only)</c>.</summary>
    [UnmanagedCallersOnly]
    public static int ChainFsync(nint ring, nint chain, ulong token, int fd, int dataOnly)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, dataOnly != 0 ? ChainOf(chain).Fdatasync(fd) : ChainOf(chain).Fsync(fd));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary>
    /// <c>int uring_chain_timeout(intptr_t ring, intptr_t chain, uint64_t token, int64_t nanoseconds, int linked)</c>:
    /// a timeout member (<paramref name="linked"/> = 0), or IORING_OP_LINK_TIMEOUT limiting the member added just
    /// before (<paramref name="linked"/> != 0). The result is 1 when the time elapsed.
    /// </summary>
    [UnmanagedCallersOnly]
    public static int ChainTimeout(nint ring, nint chain, ulong token, long nanoseconds, int linked)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            if (nanoseconds < 0)
                throw new ArgumentOutOfRangeException(nameof(nanoseconds), nanoseconds, "A timeout cannot be negative.");
            var delay = TimeSpan.FromTicks(nanoseconds / 100);
            var c = ChainOf(chain);
            r.Track(token, linked != 0 ? c.LinkTimeout(delay) : c.Timeout(delay));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_chain_submit(intptr_t chain)</c>: links the members and queues them as one unit.</summary>
    [UnmanagedCallersOnly]
    public static int ChainSubmit(nint chain)
    {
        try
        {
            ChainOf(chain).Submit();
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_chain_free(intptr_t chain)</c>: frees the builder; an unsubmitted chain's members end cancelled.</summary>
    [UnmanagedCallersOnly]
    public static int ChainFree(nint chain)
    {
        try
        {
            ChainOf(chain).Dispose();
            GCHandle.FromIntPtr(chain).Free();
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    private static LinkedChain ChainOf(nint handle)
    {
        if (handle == 0)
            throw new ArgumentException("Null chain handle.");
        return GCHandle.FromIntPtr(handle).Target as LinkedChain ?? throw new ArgumentException("Not a chain handle.");
    }
}
