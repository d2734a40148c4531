using System.Runtime.InteropServices;
using Uring.Bindings;

namespace Uring;

/// <summary>The errno values the façade interprets, and their names for messages (both from the
/// kernel's headers, through the generated <see cref="LinuxErrno"/>).</summary>
internal static class Errno
{
    public const int ENOENT = LinuxErrno.ENOENT;
    public const int EINTR = LinuxErrno.EINTR;
    public const int EBADF = LinuxErrno.EBADF;
    public const int EAGAIN = LinuxErrno.EAGAIN;
    public const int EBUSY = LinuxErrno.EBUSY;
    public const int EINVAL = LinuxErrno.EINVAL;
    public const int ETIME = LinuxErrno.ETIME;
    public const int EALREADY = LinuxErrno.EALREADY;
    public const int ECANCELED = LinuxErrno.ECANCELED;
    public const int EPERM = LinuxErrno.EPERM;
    public const int ENOMEM = LinuxErrno.ENOMEM;
    public const int EMFILE = LinuxErrno.EMFILE;
    public const int ENFILE = LinuxErrno.ENFILE;

    public static string Name(int errno) => LinuxErrno.NameOf(errno) ?? $"errno {errno}";

    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} ({Name(errno)}, errno {errno})";
}
