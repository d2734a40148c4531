using System.Runtime.InteropServices;

namespace Uring;

/// <summary>The errno values the façade interprets, and their names for messages.</summary>
internal static class Errno
{
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int EBUSY = 16;
    public const int EINVAL = 22;
    public const int ETIME = 62;
    public const int EALREADY = 114;
    public const int ECANCELED = 125;

    private static readonly Dictionary<int, string> s_names = new()
    {
        [1] = "EPERM", [2] = "ENOENT", [4] = "EINTR", [5] = "EIO", [9] = "EBADF", [11] = "EAGAIN",
        [12] = "ENOMEM", [13] = "EACCES", [14] = "EFAULT", [16] = "EBUSY", [17] = "EEXIST",
        [20] = "ENOTDIR", [21] = "EISDIR", [22] = "EINVAL", [24] = "EMFILE", [27] = "EFBIG",
        [28] = "ENOSPC", [29] = "ESPIPE", [30] = "EROFS", [32] = "EPIPE", [36] = "ENAMETOOLONG",
        [38] = "ENOSYS", [62] = "ETIME", [95] = "EOPNOTSUPP", [110] = "ETIMEDOUT",
        [114] = "EALREADY", [125] = "ECANCELED",
    };

    public static string Name(int errno) => s_names.TryGetValue(errno, out var n) ? n : $"errno {errno}";

    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} ({Name(errno)}, errno {errno})";
}
