using System.Runtime.InteropServices;

namespace Uring;

/// <summary>The few libc calls the ring needs outside io_uring (its wake-up eventfd).</summary>
internal static unsafe partial class LibC
{
    public const int EFD_CLOEXEC = 0x80000;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, void* buf, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);
}
