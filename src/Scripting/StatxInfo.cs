using System.Runtime.InteropServices;

namespace Uring.Scripting;

/// <summary>
/// A <see cref="StatxResult"/> in C layout for native callers; times are nanoseconds since the
/// Unix epoch.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct StatxInfo
{
    /// <summary>STATX_* bits the kernel filled.</summary>
    public uint Mask;
    /// <summary>Preferred I/O block size.</summary>
    public uint BlockSize;
    /// <summary>STATX_ATTR_* bits.</summary>
    public ulong Attributes;
    /// <summary>Hard links.</summary>
    public uint LinkCount;
    /// <summary>Owner.</summary>
    public uint Uid;
    /// <summary>Group.</summary>
    public uint Gid;
    /// <summary>File type and permissions (st_mode).</summary>
    public uint Mode;
    /// <summary>Inode number.</summary>
    public ulong Inode;
    /// <summary>Size in bytes.</summary>
    public long Size;
    /// <summary>512-byte blocks allocated.</summary>
    public long Blocks;
    /// <summary>Last access.</summary>
    public long AccessTimeNs;
    /// <summary>Creation (0 when the file system does not say).</summary>
    public long BirthTimeNs;
    /// <summary>Last status change.</summary>
    public long ChangeTimeNs;
    /// <summary>Last modification.</summary>
    public long ModificationTimeNs;
    /// <summary>Device (major).</summary>
    public uint DeviceMajor;
    /// <summary>Device (minor).</summary>
    public uint DeviceMinor;

    internal static StatxInfo From(StatxResult r) => new()
    {
        Mask = r.Mask,
        BlockSize = r.BlockSize,
        Attributes = r.Attributes,
        LinkCount = r.LinkCount,
        Uid = r.Uid,
        Gid = r.Gid,
        Mode = r.Mode,
        Inode = r.Inode,
        Size = r.Size,
        Blocks = r.Blocks,
        AccessTimeNs = Nanoseconds(r.AccessTime),
        BirthTimeNs = Nanoseconds(r.BirthTime),
        ChangeTimeNs = Nanoseconds(r.ChangeTime),
        ModificationTimeNs = Nanoseconds(r.ModificationTime),
        DeviceMajor = r.DeviceMajor,
        DeviceMinor = r.DeviceMinor,
    };

    private static long Nanoseconds(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
}
