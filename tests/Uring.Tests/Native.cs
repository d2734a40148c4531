using System.Runtime.InteropServices;

namespace Uring.Tests;

/// <summary>libc calls the tests use to build fixtures (pipes, raw reads) independently of the façade.</summary>
internal static unsafe partial class Native
{
    public const int O_CLOEXEC = 0x80000;
    public const int O_NONBLOCK = 0x800;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, byte* buf, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, byte* buf, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int shutdown(int fd, int how);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    public const int RLIMIT_NOFILE = 7;

    /// <summary>struct rlimit { rlim_t cur, max; } as two ulongs.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int getrlimit(int resource, ulong* limits);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setrlimit(int resource, ulong* limits);

    public static void WriteByte(int fd, byte value)
    {
        if (write(fd, &value, 1) != 1)
            throw new IOException($"write failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>True while <paramref name="fd"/> is an open descriptor (fcntl F_GETFD).</summary>
    public static bool IsOpen(int fd) => fcntl(fd, 1 /* F_GETFD */, 0) >= 0;

    /// <summary>True when <paramref name="fd"/> has FD_CLOEXEC.</summary>
    public static bool IsCloseOnExec(int fd) => (fcntl(fd, 1 /* F_GETFD */, 0) & 1) != 0;

    /// <summary>A descriptor number that was valid and has been closed. Chosen high (>= 900), so
    /// tests running in parallel do not reopen it by chance before it is used.</summary>
    public static int ClosedFd()
    {
        var (r, w) = Pipe();
        var high = fcntl(r, 1030 /* F_DUPFD_CLOEXEC */, 900);
        close(r);
        close(w);
        if (high < 0)
            throw new IOException($"fcntl(F_DUPFD) failed: errno {Marshal.GetLastPInvokeError()}");
        close(high);
        return high;
    }

    public static (int Read, int Write) Pipe(int flags = O_CLOEXEC)
    {
        int* fds = stackalloc int[2];
        if (pipe2(fds, flags) != 0)
            throw new IOException($"pipe2 failed: errno {Marshal.GetLastPInvokeError()}");
        return (fds[0], fds[1]);
    }

    public static void WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            var done = 0;
            while (done < data.Length)
            {
                var n = write(fd, p + done, (nuint)(data.Length - done));
                if (n < 0)
                    throw new IOException($"write failed: errno {Marshal.GetLastPInvokeError()}");
                done += (int)n;
            }
        }
    }

    public static int ReadSome(int fd, Span<byte> into)
    {
        fixed (byte* p = into)
        {
            var n = read(fd, p, (nuint)into.Length);
            if (n < 0)
                throw new IOException($"read failed: errno {Marshal.GetLastPInvokeError()}");
            return (int)n;
        }
    }

    public static int OpenFileCount() => Directory.GetFiles("/proc/self/fd").Length;

    /// <summary>Open descriptors and what they point to (pipe:[…], anon_inode:[io_uring], paths).</summary>
    public static Dictionary<int, string> OpenFiles()
    {
        var result = new Dictionary<int, string>();
        foreach (var entry in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                result[int.Parse(Path.GetFileName(entry))] = new FileInfo(entry).LinkTarget ?? "?";
            }
            catch (IOException)
            {
                // closed while we looked (the enumeration's own descriptor, for one)
            }
        }
        return result;
    }

    /// <summary>Descriptors that the façade creates: rings and their wake-up eventfds.</summary>
    public static int RingFileCount() =>
        OpenFiles().Values.Count(t => t.Contains("io_uring", StringComparison.Ordinal) || t.Contains("eventfd", StringComparison.Ordinal));
}
