namespace Uring;

// SO_LINGER, for SocketPipe.Abort: closing with a zero linger time resets the connection (RST).
internal static unsafe partial class SocketNative
{
    public const int SO_LINGER = 13;

    /// <summary>Makes the next close(2) of <paramref name="fd"/> reset the connection instead of a graceful FIN.</summary>
    public static int SetResetOnClose(int fd)
    {
        var linger = stackalloc int[2] { 1, 0 }; // struct linger { l_onoff = 1, l_linger = 0 }
        return Check(setsockopt(fd, SOL_SOCKET, SO_LINGER, linger, 8));
    }
}
