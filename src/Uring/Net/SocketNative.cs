using System.Runtime.InteropServices;

namespace Uring;

/// <summary>The socket system calls used where io_uring has no opcode (or the kernel lacks it).</summary>
internal static unsafe partial class SocketNative
{
    public const int SOL_SOCKET = 1;
    public const int SO_REUSEADDR = 2;
    public const int IPPROTO_TCP = 6;
    public const int TCP_NODELAY = 1;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOCK_NONBLOCK = 0x800;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int bind(int fd, byte* addr, uint addrlen);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int listen(int fd, int backlog);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setsockopt(int fd, int level, int name, void* value, uint length);

    public const int SO_ACCEPTCONN = 30;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getsockopt(int fd, int level, int name, void* value, uint* length);

    /// <summary>True when <paramref name="fd"/> is a listening socket (SO_ACCEPTCONN).</summary>
    public static bool IsListening(int fd)
    {
        int value = 0;
        uint length = 4;
        return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &length) == 0 && value != 0;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getsockname(int fd, byte* addr, uint* addrlen);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getpeername(int fd, byte* addr, uint* addrlen);

    /// <summary>The call's result, or -errno.</summary>
    public static int Check(int r) => r < 0 ? -Marshal.GetLastPInvokeError() : r;
}
