namespace Uring;

/// <summary>Which thread owns a <see cref="Ring"/> (submits SQEs and reaps CQEs).</summary>
public enum RingThreading
{
    /// <summary>
    /// The ring starts its own event-loop thread, which creates the ring, submits and reaps.
    /// Continuations of awaited futures run on that thread, where new operations go straight
    /// into the SQ; other threads hand operations over through a queue and an eventfd.
    /// </summary>
    DedicatedThread,

    /// <summary>
    /// The thread that constructs the ring owns it and drives it itself: through
    /// <see cref="Ring.RunOnce"/>, or by waiting on a future (<see cref="CancelableFuture{T}.Wait(TimeSpan)"/>).
    /// Nothing happens while the owner does not drive. Operations started on other threads are
    /// queued and wait for the owner's next turn.
    /// </summary>
    CallerThread,
}
