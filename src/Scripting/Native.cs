using System.Runtime.InteropServices;

namespace Uring.Scripting;

/// <summary>libc calls the scripting layer needs for its completion eventfd.</summary>
internal static unsafe partial class Native
{
    internal const int EFD_CLOEXEC = 0x80000;
    internal const int EFD_NONBLOCK = 0x800;

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial nint write(int fd, void* buffer, nuint count);
}
