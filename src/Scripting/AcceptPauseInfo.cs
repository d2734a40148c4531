using System.Runtime.InteropServices;

namespace Uring.Scripting;

/// <summary>Which notification of a <see cref="ResilientAccept"/> a completion with <see cref="Completion.EventFlag"/> carries.</summary>
public enum AcceptPauseKind
{
    /// <summary><see cref="ResilientAccept.Paused"/>: accepting failed for want of descriptors or memory, and pauses.</summary>
    Paused = 1,

    /// <summary><see cref="ResilientAccept.RetryFailed"/>: a retry during the pause failed again.</summary>
    RetryFailed = 2,

    /// <summary><see cref="ResilientAccept.Resumed"/>: a connection was accepted after the pause.</summary>
    Resumed = 3,
}

/// <summary>
/// <c>struct accept_pause { int64_t backoff_ns; int64_t paused_for_ns; int32_t kind; int32_t errno; int32_t failed_attempts; }</c>
/// (32 bytes with the tail padding): an <see cref="AcceptPauseEventArgs"/> in C layout, for native callers.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct AcceptPauseInfo
{
    /// <summary>The wait before the next attempt; 0 for <see cref="AcceptPauseKind.Resumed"/>.</summary>
    public long BackoffNs;

    /// <summary>Time since the pause's first failure; 0 for <see cref="AcceptPauseKind.Paused"/>.</summary>
    public long PausedForNs;

    /// <summary>An <see cref="AcceptPauseKind"/>.</summary>
    public int Kind;

    /// <summary>Why accepting failed (EMFILE, ENFILE, ENOBUFS or ENOMEM); for a resume, the pause's last failure.</summary>
    public int Errno;

    /// <summary>Attempts of this pause that failed so far, the first included.</summary>
    public int FailedAttempts;

    internal static AcceptPauseInfo From(AcceptPauseKind kind, AcceptPauseEventArgs e) => new()
    {
        BackoffNs = e.Backoff.Ticks * 100,
        PausedForNs = e.PausedFor.Ticks * 100,
        Kind = (int)kind,
        Errno = e.Error.Errno,
        FailedAttempts = e.FailedAttempts,
    };
}
