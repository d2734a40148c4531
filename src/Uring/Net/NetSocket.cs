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
            Check(SocketNative.setsockopt(fd, SocketNative.SOL_SOCKET, SocketNative.SO_REUSEADDR, &one, 4), "setsockopt(SO_REUSEADDR)");
            Span<byte> sa = stackalloc byte[SocketAddressCodec.MaxSize];
            var n = SocketAddressCodec.Write(endPoint, sa);
            fixed (byte* p = sa)
                Check(SocketNative.bind(fd, p, (uint)n), $"bind({endPoint})");
            Check(SocketNative.listen(fd, backlog), "listen");
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
        Check(fd, "socket");
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
        Check(SocketNative.setsockopt(fd, SocketNative.IPPROTO_TCP, SocketNative.TCP_NODELAY, &v, 4), "setsockopt(TCP_NODELAY)");
    }

    /// <summary>close(2); false when it failed (for example EBADF).</summary>
    public static bool Close(int fd) => LibC.close(fd) == 0;

    private static IPEndPoint GetName(int fd, bool peer)
    {
        var sa = stackalloc byte[SocketAddressCodec.MaxSize];
        uint len = SocketAddressCodec.MaxSize;
        Check(peer ? SocketNative.getpeername(fd, sa, &len) : SocketNative.getsockname(fd, sa, &len), peer ? "getpeername" : "getsockname");
        return SocketAddressCodec.Read(new ReadOnlySpan<byte>(sa, (int)len)) ?? throw new IOException("The socket is not an IPv4 or IPv6 socket.");
    }

    private static void Check(int r, string call)
    {
        if (r < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new UringIOException(errno, call);
        }
    }
}
