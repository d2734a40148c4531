using System.Runtime.InteropServices;

namespace Uring.Cli;

/// <summary>The few file system calls cp needs that have no io_uring operation in the façade.</summary>
internal static partial class FileNative
{
    private const int SEEK_DATA = 3, SEEK_HOLE = 4;
    public const int ENXIO = 6, EINVAL = 22;

    [LibraryImport("libc", SetLastError = true)]
    private static partial long lseek(int fd, long offset, int whence);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rename_(string from, string to);

    /// <summary>
    /// The data extents of the first <paramref name="length"/> bytes (SEEK_DATA / SEEK_HOLE). A
    /// file system without hole reporting reports one extent covering everything.
    /// </summary>
    public static List<(long Start, long End)> DataExtents(int fd, long length)
    {
        var extents = new List<(long, long)>();
        long position = 0;
        while (position < length)
        {
            var data = lseek(fd, position, SEEK_DATA);
            if (data < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == ENXIO)
                    break; // only a hole from here to the end
                if (errno == EINVAL && extents.Count == 0)
                {
                    extents.Add((0, length)); // SEEK_DATA not supported here: copy everything
                    break;
                }
                throw new CommandException($"lseek(SEEK_DATA) failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
            }
            if (data >= length)
                break;
            var hole = lseek(fd, data, SEEK_HOLE);
            if (hole < 0 || hole > length)
                hole = length;
            extents.Add((data, hole));
            position = hole;
        }
        return extents;
    }

    /// <summary>ftruncate(2): sets the length (a longer file gets a hole at the end).</summary>
    public static void Truncate(int fd, long length, string path)
    {
        if (ftruncate(fd, length) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot set the length of '{path}': {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
    }

    /// <summary>rename(2): atomically replaces <paramref name="to"/> with <paramref name="from"/> (same file system).</summary>
    public static void Rename(string from, string to)
    {
        if (rename_(from, to) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot rename the copy into place as '{to}': {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
    }
}
