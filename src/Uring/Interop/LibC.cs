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

    /// <summary>EMFILE or ENFILE when the process cannot open one more descriptor right now; otherwise null.</summary>
    public static int? DescriptorsExhausted()
    {
        var fd = eventfd(0, EFD_CLOEXEC);
        if (fd >= 0)
        {
            close(fd);
            return null;
        }
        var errno = Marshal.GetLastPInvokeError();
        return errno is Errno.EMFILE or Errno.ENFILE ? errno : null;
    }

    public const int RLIMIT_MEMLOCK = 8;
    public const ulong RLIM_INFINITY = ulong.MaxValue;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getrlimit(int resource, ulong* limits); // struct rlimit { rlim_t cur, max; }

    /// <summary>The soft RLIMIT_MEMLOCK as text ("64 KiB", "unlimited"), or null when unknown.</summary>
    public static string? MemlockLimit()
    {
        var limits = stackalloc ulong[2];
        if (getrlimit(RLIMIT_MEMLOCK, limits) != 0)
            return null;
        return limits[0] == RLIM_INFINITY ? "unlimited" : $"{limits[0] / 1024} KiB";
    }

    /// <summary>For an ENOMEM from a call that pins memory: " with RLIMIT_MEMLOCK at N KiB (ulimit -l)"; otherwise empty.</summary>
    public static string MemlockNote(int errno) =>
        errno == Errno.ENOMEM && MemlockLimit() is { } limit ? $" with RLIMIT_MEMLOCK at {limit} (ulimit -l; registered memory is locked memory)" : "";

    // pthread_attr_t is 56 bytes on x86_64 and aarch64 glibc; callers pass a larger buffer.
    public const int PthreadAttrBufferSize = 128;

    [LibraryImport("libc")]
    public static partial nuint pthread_self();

    [LibraryImport("libc")]
    public static partial int pthread_getattr_np(nuint thread, void* attr);

    [LibraryImport("libc")]
    public static partial int pthread_attr_getstack(void* attr, void** stackaddr, nuint* stacksize);

    [LibraryImport("libc")]
    public static partial int pthread_attr_destroy(void* attr);

    /// <summary>The calling thread's stack: lowest address and size; (0, 0) when glibc cannot tell.</summary>
    public static (nuint Low, nuint Size) CurrentThreadStack()
    {
        var attr = stackalloc byte[PthreadAttrBufferSize];
        if (pthread_getattr_np(pthread_self(), attr) != 0)
            return (0, 0);
        void* low;
        nuint size;
        var r = pthread_attr_getstack(attr, &low, &size);
        pthread_attr_destroy(attr);
        return r == 0 ? ((nuint)low, size) : (0, 0);
    }
}
