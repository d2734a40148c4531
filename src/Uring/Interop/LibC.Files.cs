using System.Runtime.InteropServices;

namespace Uring;

// File-position calls for the stream adapter (src/Uring/IO).
internal static partial class LibC
{
    public const int SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2;

    [LibraryImport("libc", SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);
}
