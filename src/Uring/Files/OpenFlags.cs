namespace Uring;

/// <summary>open(2) flags for <see cref="Ring.OpenAt"/> (x86-64/arm64 values).</summary>
public static class OpenFlags
{
    /// <summary>O_RDONLY.</summary>
    public const int ReadOnly = 0;
    /// <summary>O_WRONLY.</summary>
    public const int WriteOnly = 0x1;
    /// <summary>O_RDWR.</summary>
    public const int ReadWrite = 0x2;
    /// <summary>O_CREAT.</summary>
    public const int Create = 0x40;
    /// <summary>O_EXCL.</summary>
    public const int Exclusive = 0x80;
    /// <summary>O_TRUNC.</summary>
    public const int Truncate = 0x200;
    /// <summary>O_APPEND.</summary>
    public const int Append = 0x400;
    /// <summary>O_NONBLOCK.</summary>
    public const int NonBlocking = 0x800;
    /// <summary>O_DIRECT (buffers, offsets and lengths must be block-aligned).</summary>
    public const int Direct = 0x4000;
    /// <summary>O_DIRECTORY.</summary>
    public const int Directory = 0x10000;
    /// <summary>O_CLOEXEC (always added by <see cref="Ring.OpenAt"/>).</summary>
    public const int CloseOnExec = 0x80000;
}
