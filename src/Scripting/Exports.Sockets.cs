using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Uring.Scripting;

// Socket operations and provided buffer rings.
public static unsafe partial class Exports
{
    // ------------------------------------------------------------------ sockets

    /// <summary>
    /// <c>int uring_socket(intptr_t ring, uint64_t token, int family, int type, int protocol)</c>: IORING_OP_SOCKET
    /// with Linux values (AF_INET 2, AF_INET6 10, AF_UNIX 1; SOCK_STREAM 1, SOCK_DGRAM 2); the result is the fd.
    /// </summary>
    [UnmanagedCallersOnly]
    public static int Socket(nint ring, ulong token, int family, int type, int protocol)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            var af = family switch
            {
                2 => AddressFamily.InterNetwork,
                10 => AddressFamily.InterNetworkV6,
                1 => AddressFamily.Unix,
                _ => throw new ArgumentOutOfRangeException(nameof(family), family, "Supported families: AF_INET (2), AF_INET6 (10), AF_UNIX (1)."),
            };
            r.Track(token, r.Ring.Socket(af, (SocketType)type, (ProtocolType)protocol));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_bind(intptr_t ring, uint64_t token, int fd, const char* address, int port)</c> (IORING_OP_BIND, or bind(2) on older kernels).</summary>
    [UnmanagedCallersOnly]
    public static int Bind(nint ring, ulong token, int fd, byte* address, int port)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.Bind(fd, EndPoint(address, port)));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_listen(intptr_t ring, uint64_t token, int fd, int backlog)</c>.</summary>
    [UnmanagedCallersOnly]
    public static int Listen(nint ring, ulong token, int fd, int backlog)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.Listen(fd, backlog));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_accept(intptr_t ring, uint64_t token, int listen_fd)</c>: the result is the accepted fd.</summary>
    [UnmanagedCallersOnly]
    public static int Accept(nint ring, ulong token, int listenFd)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.Accept(listenFd));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_connect(intptr_t ring, uint64_t token, int fd, const char* address, int port)</c>.</summary>
    [UnmanagedCallersOnly]
    public static int Connect(nint ring, ulong token, int fd, byte* address, int port)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.Connect(fd, EndPoint(address, port)));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_send(intptr_t ring, uint64_t token, int fd, intptr_t buffer, int length, int flags)</c>: IORING_OP_SEND; the result is the byte count.</summary>
    [UnmanagedCallersOnly]
    public static int Send(nint ring, ulong token, int fd, nint buffer, int length, int flags)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.Send(fd, BufferOf(buffer), length, (MessageFlags)flags));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary>
    /// <c>int uring_send_zc(intptr_t ring, uint64_t token, int fd, intptr_t buffer, int length, int flags)</c>:
    /// IORING_OP_SEND_ZC. The operation completes, and the buffer comes back, only with the kernel's
    /// notification CQE (the kernel may read the pages until then); the result is the byte count.
    /// </summary>
    [UnmanagedCallersOnly]
    public static int SendZeroCopy(nint ring, ulong token, int fd, nint buffer, int length, int flags)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.SendZeroCopy(fd, BufferOf(buffer), length, (MessageFlags)flags));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_recv(intptr_t ring, uint64_t token, int fd, intptr_t buffer, int length, int flags)</c>: IORING_OP_RECV; the result is the byte count (0: end of stream).</summary>
    [UnmanagedCallersOnly]
    public static int Recv(nint ring, ulong token, int fd, nint buffer, int length, int flags)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.Receive(fd, BufferOf(buffer), length, (MessageFlags)flags));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_shutdown(intptr_t ring, uint64_t token, int fd, int how)</c>: SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2.</summary>
    [UnmanagedCallersOnly]
    public static int Shutdown(nint ring, ulong token, int fd, int how)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.Track(token, r.Ring.Shutdown(fd, (SocketShutdown)how));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary>
    /// <c>int uring_buffer_ring_create(intptr_t ring, int count, int size, intptr_t* buffer_ring)</c>: a provided
    /// buffer ring (io_uring_setup_buf_ring) of <paramref name="count"/> (a power of two) buffers of <paramref name="size"/> bytes.
    /// </summary>
    [UnmanagedCallersOnly]
    public static int BufferRingCreate(nint ring, int count, int size, nint* bufferRing)
    {
        try
        {
            var br = RingOf(ring).Open().CreateBufferRing(count, size);
            *bufferRing = GCHandle.ToIntPtr(GCHandle.Alloc(br));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_buffer_ring_free(intptr_t buffer_ring)</c>.</summary>
    [UnmanagedCallersOnly]
    public static int BufferRingFree(nint bufferRing)
    {
        try
        {
            if (bufferRing == 0)
                throw new ArgumentException("Null buffer ring handle.");
            var handle = GCHandle.FromIntPtr(bufferRing);
            (handle.Target as BufferRing ?? throw new ArgumentException("Not a buffer ring handle.")).Dispose();
            handle.Free();
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary>
    /// <c>int uring_recv_provided(intptr_t ring, uint64_t token, int fd, intptr_t buffer_ring, int flags)</c>: IORING_OP_RECV
    /// with IOSQE_BUFFER_SELECT; the kernel picks a buffer when data arrives. The result is the byte count (0: end of
    /// stream); the data is a lease taken with <see cref="LeaseTake"/>, read with <see cref="LeaseView"/> and given
    /// back with <see cref="LeaseRelease"/>.
    /// </summary>
    [UnmanagedCallersOnly]
    public static int RecvProvided(nint ring, ulong token, int fd, nint bufferRing, int flags)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            if (bufferRing == 0)
                throw new ArgumentException("Null buffer ring handle.");
            var br = GCHandle.FromIntPtr(bufferRing).Target as BufferRing ?? throw new ArgumentException("Not a buffer ring handle.");
            r.Track(token, r.Ring.ReceiveProvided(fd, br, (MessageFlags)flags));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary>
    /// <c>int uring_lease_take(intptr_t ring, uint64_t token)</c>: the next buffer received under <paramref name="token"/>
    /// (a provided-buffer recv, or an item of a multishot recv, in completion order) as a lease id (&gt; 0).
    /// </summary>
    [UnmanagedCallersOnly]
    public static int LeaseTake(nint ring, ulong token)
    {
        try
        {
            return RingOf(ring).TakeLease(token);
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_lease_view(intptr_t ring, int lease, uint8_t** pointer, int* length)</c>: the received bytes.</summary>
    [UnmanagedCallersOnly]
    public static int LeaseView(nint ring, int lease, byte** pointer, int* length)
    {
        try
        {
            var leased = RingOf(ring).Lease(lease);
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
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_lease_release(intptr_t ring, int lease)</c>: gives the buffer back to its buffer ring.</summary>
    [UnmanagedCallersOnly]
    public static int LeaseRelease(nint ring, int lease)
    {
        try
        {
            RingOf(ring).ReleaseLease(lease);
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary>
    /// <c>int uring_accept_multishot(intptr_t ring, uint64_t token, int listen_fd)</c>: IORING_ACCEPT_MULTISHOT; every
    /// accepted fd is a completion with <see cref="Completion.MoreFlag"/>; the last completion ends the stream
    /// (cancelled after <see cref="StreamCancel"/>, or an error).
    /// </summary>
    [UnmanagedCallersOnly]
    public static int AcceptMultishot(nint ring, ulong token, int listenFd)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            r.StartStream(token, r.Ring.AcceptMultishot(listenFd));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary>
    /// <c>int uring_recv_multishot(intptr_t ring, uint64_t token, int fd, intptr_t buffer_ring, int flags)</c>:
    /// IORING_RECV_MULTISHOT with buffers from the buffer ring; every item is a completion with
    /// <see cref="Completion.MoreFlag"/> whose buffer is taken with <see cref="LeaseTake"/>; the stream ends when the
    /// peer closes.
    /// </summary>
    [UnmanagedCallersOnly]
    public static int RecvMultishot(nint ring, ulong token, int fd, nint bufferRing, int flags)
    {
        try
        {
            var r = RingOf(ring);
            r.CheckToken(token);
            if (bufferRing == 0)
                throw new ArgumentException("Null buffer ring handle.");
            var br = GCHandle.FromIntPtr(bufferRing).Target as BufferRing ?? throw new ArgumentException("Not a buffer ring handle.");
            r.StartStream(token, r.Ring.ReceiveMultishot(fd, br, (MessageFlags)flags));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_stream_cancel(intptr_t ring, uint64_t token)</c>: stops a multishot stream (its last completion follows, after the kernel's CQE).</summary>
    [UnmanagedCallersOnly]
    public static int StreamCancel(nint ring, ulong token)
    {
        try
        {
            RingOf(ring).CancelStream(token);
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    private static IPEndPoint EndPoint(byte* address, int port)
    {
        if (address == null)
            throw new ArgumentNullException(nameof(address));
        var text = Marshal.PtrToStringUTF8((nint)address)!;
        if (!IPAddress.TryParse(text, out var ip))
            throw new ArgumentException($"'{text}' is not an IP address.", nameof(address));
        if (port < 0 || port > 65535)
            throw new ArgumentOutOfRangeException(nameof(port), port, "A port is 0 to 65535.");
        return new IPEndPoint(ip, port);
    }
}
