namespace Uring;

/// <summary>
/// The Linux MSG_* flags of send(2)/recv(2) and of a received message's msg_flags.
/// (<see cref="System.Net.Sockets.SocketFlags"/> has Windows values for most of these, so the
/// façade uses its own.)
/// </summary>
[Flags]
public enum MessageFlags
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>MSG_OOB: out-of-band data.</summary>
    OutOfBand = 0x1,
    /// <summary>MSG_PEEK: receive without removing the data from the queue.</summary>
    Peek = 0x2,
    /// <summary>MSG_DONTROUTE.</summary>
    DontRoute = 0x4,
    /// <summary>MSG_CTRUNC (received): control data was truncated.</summary>
    ControlTruncated = 0x8,
    /// <summary>MSG_TRUNC: (received) the datagram was larger than the buffers; (receive flag) report its real length.</summary>
    Truncated = 0x20,
    /// <summary>MSG_DONTWAIT.</summary>
    DontWait = 0x40,
    /// <summary>MSG_EOR.</summary>
    EndOfRecord = 0x80,
    /// <summary>MSG_WAITALL: a receive completes only when the buffer is full (or on EOF/error).</summary>
    WaitAll = 0x100,
    /// <summary>MSG_NOSIGNAL: no SIGPIPE on a broken connection (the façade always adds it to sends).</summary>
    NoSignal = 0x4000,
    /// <summary>MSG_MORE: more data follows (cork).</summary>
    More = 0x8000,
}
