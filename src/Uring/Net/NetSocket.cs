using System.Net;
using System.Runtime.InteropServices;

namespace Uring;

/// <summary>
/// Synchronous socket helpers for setting up servers and clients around a <see cref="Ring"/>
/// (the work that happens once, not per request). Descriptors are plain ints, close-on-exec.
/// </summary>
public static unsafe class NetSocket
{
    /// <summary>A TCP socket with SO_REUSEADDR, bound to <paramref name="endPoint"/> (port 0 picks one) and listening.</summary>
    /// <exception cref="IOException">socket, bind or listen failed (the message has the errno).</exception>
    public static int OpenTcpListener(IPEndPoint endPoint, int backlog = 511)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var fd = OpenTcp(endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6);
        try
        {
            var one = 1;
            var r = SocketNative.setsockopt(fd, SocketNative.SOL_SOCKET, SocketNative.SO_REUSEADDR, &one, 4);
            ThrowIfFailed(r, ErrnoOf(r), "setsockopt(SO_REUSEADDR)");
            Span<byte> sa = stackalloc byte[SocketAddressCodec.MaxSize];
            var n = SocketAddressCodec.Write(endPoint, sa);
            fixed (byte* p = sa)
                r = SocketNative.bind(fd, p, (uint)n);
            ThrowIfFailed(r, ErrnoOf(r), "bind", endPoint);
            r = SocketNative.listen(fd, backlog);
            ThrowIfFailed(r, ErrnoOf(r), "listen");
            return fd;
        }
        catch
        {
            LibC.close(fd);
            throw;
        }
    }

    /// <summary>A new, unconnected TCP socket (close-on-exec).</summary>
    public static int OpenTcp(bool ipv6 = false)
    {
        var fd = SocketNative.socket(ipv6 ? SocketAddressCodec.AF_INET6 : SocketAddressCodec.AF_INET, 1 /* SOCK_STREAM */ | SocketNative.SOCK_CLOEXEC, 0);
        ThrowIfFailed(fd, ErrnoOf(fd), "socket");
        return fd;
    }

    /// <summary>The address a socket is bound to (getsockname(2)).</summary>
    public static IPEndPoint GetLocalEndPoint(int fd) => GetName(fd, peer: false);

    /// <summary>The address of a connected socket's peer (getpeername(2)).</summary>
    public static IPEndPoint GetRemoteEndPoint(int fd) => GetName(fd, peer: true);

    /// <summary>Sets TCP_NODELAY (no Nagle delay for small writes).</summary>
    public static void SetNoDelay(int fd, bool on = true)
    {
        var v = on ? 1 : 0;
        var r = SocketNative.setsockopt(fd, SocketNative.IPPROTO_TCP, SocketNative.TCP_NODELAY, &v, 4);
        ThrowIfFailed(r, ErrnoOf(r), "setsockopt(TCP_NODELAY)");
    }

    /// <summary>close(2); false when it failed (for example EBADF).</summary>
    public static bool Close(int fd) => LibC.close(fd) == 0;

    private static IPEndPoint GetName(int fd, bool peer)
    {
        var sa = stackalloc byte[SocketAddressCodec.MaxSize];
        uint len = SocketAddressCodec.MaxSize;
        var r = peer ? SocketNative.getpeername(fd, sa, &len) : SocketNative.getsockname(fd, sa, &len);
        ThrowIfFailed(r, ErrnoOf(r), peer ? "getpeername" : "getsockname");
        return SocketAddressCodec.Read(new ReadOnlySpan<byte>(sa, (int)len)) ?? throw new IOException("The socket is not an IPv4 or IPv6 socket.");
    }

    // errno must be read right after the failing call: formatting a message (an IPEndPoint's
    // ToString, string interpolation) may run other P/Invokes that overwrite the saved value.
    private static int ErrnoOf(int result) => result < 0 ? Marshal.GetLastPInvokeError() : 0;

    private static void ThrowIfFailed(int result, int errno, string call, IPEndPoint? endPoint = null)
    {
        if (result < 0)
            throw new UringIOException(errno, endPoint is null ? call : $"{call}({endPoint})");
    }
}
