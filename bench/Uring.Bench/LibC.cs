using System.Runtime.InteropServices;

namespace Uring.Bench;

/// <summary>The few libc calls the harness needs that .NET does not offer: open(2) with
/// O_DIRECT (FileOptions has no such flag) and getrusage(2).</summary>
internal static unsafe partial class LibC
{
    public const int O_RDONLY = 0;
    public const int O_DIRECT = 0x4000;   // x86-64 / arm64
    public const int O_CLOEXEC = 0x80000;

    public const int RUSAGE_SELF = 0;
    public const int RUSAGE_CHILDREN = -1;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Open(string path, int flags);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeVal
    {
        public long Seconds;
        public long Microseconds;
    }

    // struct rusage on 64-bit Linux: two timevals and 14 longs.
    [StructLayout(LayoutKind.Sequential)]
    private struct RUsage
    {
        public TimeVal User;
        public TimeVal System;
        public fixed long Rest[14];
    }

    [LibraryImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static partial int GetRUsage(int who, RUsage* usage);

    /// <summary>User and system CPU time, in seconds, of this process (every thread in it,
    /// io_uring's SQPOLL and io-wq kernel threads included: they belong to the thread group)
    /// or of its terminated, waited-for descendants.</summary>
    public static (double User, double System) CpuTime(int who)
    {
        RUsage usage;
        if (GetRUsage(who, &usage) != 0)
            throw new InvalidOperationException($"getrusage: errno {Marshal.GetLastPInvokeError()}");
        return (usage.User.Seconds + usage.User.Microseconds / 1e6, usage.System.Seconds + usage.System.Microseconds / 1e6);
    }
}
