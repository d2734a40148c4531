namespace Uring;

/// <summary>poll(2) event bits, for <see cref="Ring.PollAdd"/>.</summary>
[Flags]
public enum PollEvents : uint
{
    /// <summary>No events.</summary>
    None = 0,
    /// <summary>POLLIN: data to read.</summary>
    In = 0x1,
    /// <summary>POLLPRI: urgent data.</summary>
    Priority = 0x2,
    /// <summary>POLLOUT: writing will not block.</summary>
    Out = 0x4,
    /// <summary>POLLERR: error condition (always reported).</summary>
    Error = 0x8,
    /// <summary>POLLHUP: hang up (always reported).</summary>
    HangUp = 0x10,
    /// <summary>POLLNVAL: invalid descriptor.</summary>
    Invalid = 0x20,
    /// <summary>POLLRDHUP: peer closed its writing half.</summary>
    ReadHangUp = 0x2000,
}
