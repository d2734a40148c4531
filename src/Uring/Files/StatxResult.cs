namespace Uring;

/// <summary>
/// The fields of <c>struct statx</c> that the façade reads. The bindings treat
/// <c>struct statx</c> as an opaque 256-byte blob (its layout comes from the kernel's uapi
/// headers, not liburing's); the offsets below are stable since Linux 4.11:
/// stx_mask@0 u32, stx_blksize@4 u32, stx_attributes@8 u64, stx_nlink@16 u32, stx_uid@20 u32,
/// stx_gid@24 u32, stx_mode@28 u16, stx_ino@32 u64, stx_size@40 u64, stx_blocks@48 u64,
/// stx_attributes_mask@56 u64, stx_atime@64, stx_btime@80, stx_ctime@96, stx_mtime@112
/// (each a statx_timestamp: s64 tv_sec, u32 tv_nsec, s32 pad), stx_rdev_major@128 u32,
/// stx_rdev_minor@132 u32, stx_dev_major@136 u32, stx_dev_minor@140 u32.
/// </summary>
public readonly struct StatxResult
{
    /// <summary>Size of <c>struct statx</c>.</summary>
    public const int NativeSize = 256;

    /// <summary>STATX_BASIC_STATS: type, mode, nlink, uid, gid, times, ino, size, blocks.</summary>
    public const uint BasicStats = 0x7ff;

    /// <summary>STATX_ALL (basic stats and birth time).</summary>
    public const uint All = 0xfff;

    /// <summary>Which fields the kernel filled (STATX_* bits).</summary>
    public uint Mask { get; init; }
    /// <summary>Preferred I/O block size.</summary>
    public uint BlockSize { get; init; }
    /// <summary>STATX_ATTR_* bits.</summary>
    public ulong Attributes { get; init; }
    /// <summary>Hard links.</summary>
    public uint LinkCount { get; init; }
    /// <summary>Owner.</summary>
    public uint Uid { get; init; }
    /// <summary>Group.</summary>
    public uint Gid { get; init; }
    /// <summary>File type and permission bits (st_mode).</summary>
    public ushort Mode { get; init; }
    /// <summary>Major number of the device holding the file.</summary>
    public uint DeviceMajor { get; init; }
    /// <summary>Minor number of the device holding the file.</summary>
    public uint DeviceMinor { get; init; }
    /// <summary>Inode number.</summary>
    public ulong Inode { get; init; }
    /// <summary>Size in bytes.</summary>
    public long Size { get; init; }
    /// <summary>512-byte blocks allocated.</summary>
    public long Blocks { get; init; }
    /// <summary>Last access.</summary>
    public DateTimeOffset AccessTime { get; init; }
    /// <summary>Creation, when the file system records it (check <see cref="Mask"/> bit 0x800).</summary>
    public DateTimeOffset BirthTime { get; init; }
    /// <summary>Last status change.</summary>
    public DateTimeOffset ChangeTime { get; init; }
    /// <summary>Last modification.</summary>
    public DateTimeOffset ModificationTime { get; init; }

    /// <summary>True when both describe the same file (device and inode).</summary>
    public bool IsSameFile(StatxResult other) =>
        Inode == other.Inode && DeviceMajor == other.DeviceMajor && DeviceMinor == other.DeviceMinor;

    /// <summary>True for a regular file (S_IFREG).</summary>
    public bool IsRegularFile => (Mode & 0xF000) == 0x8000;
    /// <summary>True for a directory (S_IFDIR).</summary>
    public bool IsDirectory => (Mode & 0xF000) == 0x4000;

    internal static unsafe StatxResult Read(byte* p) => new()
    {
        Mask = *(uint*)p,
        BlockSize = *(uint*)(p + 4),
        Attributes = *(ulong*)(p + 8),
        LinkCount = *(uint*)(p + 16),
        Uid = *(uint*)(p + 20),
        Gid = *(uint*)(p + 24),
        Mode = *(ushort*)(p + 28),
        Inode = *(ulong*)(p + 32),
        DeviceMajor = *(uint*)(p + 136),
        DeviceMinor = *(uint*)(p + 140),
        Size = *(long*)(p + 40),
        Blocks = *(long*)(p + 48),
        AccessTime = Time(p + 64),
        BirthTime = Time(p + 80),
        ChangeTime = Time(p + 96),
        ModificationTime = Time(p + 112),
    };

    private static unsafe DateTimeOffset Time(byte* p) =>
        DateTimeOffset.FromUnixTimeSeconds(*(long*)p).AddTicks(*(uint*)(p + 8) / 100);
}
