namespace Uring;

/// <summary>How a <see cref="Ring"/> is set up.</summary>
public sealed class RingOptions
{
    /// <summary>SQ entries (rounded up to a power of two by the kernel). Default 256.</summary>
    public uint Entries { get; set; } = 256;

    /// <summary>CQ entries (IORING_SETUP_CQSIZE); null = the kernel's default of twice <see cref="Entries"/>.</summary>
    public uint? CompletionQueueEntries { get; set; }

    /// <summary>IORING_SETUP_SQPOLL: a kernel thread polls the SQ, so submission needs no syscall
    /// while it is awake. Incompatible with <see cref="DeferTaskrun"/>.</summary>
    public bool SqPoll { get; set; }

    /// <summary>Idle time of the SQPOLL thread before it sleeps, in milliseconds.</summary>
    public uint SqPollIdleMilliseconds { get; set; } = 100;

    /// <summary>IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN: completions are
    /// produced only when the owner asks for them — the fastest mode for one owning thread.
    /// Default true; ignored (off) with <see cref="SqPoll"/>.</summary>
    public bool DeferTaskrun { get; set; } = true;

    /// <summary>IORING_SETUP_COOP_TASKRUN: no IPI to interrupt the owner for completions.
    /// Default true; not used together with <see cref="DeferTaskrun"/>.</summary>
    public bool CoopTaskrun { get; set; } = true;

    /// <summary>Who drives the ring. Default: a dedicated event-loop thread.</summary>
    public RingThreading Threading { get; set; } = RingThreading.DedicatedThread;

    /// <summary>Run awaiting continuations on the thread pool instead of inline on the ring's
    /// loop thread. Inline (the default) is faster and lets continuations submit directly;
    /// choose this when continuations block.</summary>
    public bool RunContinuationsAsynchronously { get; set; }

    /// <summary>How long <see cref="Ring.Dispose"/> waits for the CQEs of cancelled operations.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Name of the loop thread (diagnostics).</summary>
    public string ThreadName { get; set; } = "io_uring loop";
}
