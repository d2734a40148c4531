using Uring.Bindings;

namespace Uring;

// The loop: one turn drains queued work into the SQ, enters the kernel once, reaps, and
// sleeps in the kernel when there is nothing to do. A dedicated loop thread turns forever;
// a CallerThread ring turns when its owner calls RunOnce or waits on a future.
public sealed unsafe partial class Ring
{
    private ulong* _wakeBuffer;
    private bool _wakeArmed;

    /// <summary>
    /// One turn of the loop on the owner thread (<see cref="RingThreading.CallerThread"/>):
    /// prepares queued operations, submits, and reaps; waits up to <paramref name="timeout"/>
    /// for a completion when none is ready. Returns the number of CQEs processed.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called on another thread than the owner.</exception>
    public int RunOnce(TimeSpan timeout)
    {
        if (!IsOwnerThread)
            throw new InvalidOperationException("RunOnce must be called on the thread that owns the ring.");
        if (_shutdownDone)
            throw new RingDisposedException("The ring was disposed.");
        return Turn((int)Math.Clamp((long)timeout.TotalMilliseconds, -1, int.MaxValue));
    }

    private int Turn(int timeoutMs)
    {
        VectorState.ZeroUpper();
        if (Volatile.Read(ref _lifecycle) == Running)
            ArmWake();
        DrainIncoming();
        if (_shutdownDone)
            return 0;
        // Whether this turn may sleep in the kernel until a completion arrives: not when asked
        // to poll, when other threads queued work meanwhile, when a backlog waits for the SQ
        // room this turn's submission makes (the next turn prepares it), or while disposing
        // (the wake-up read may not be armed any more).
        var mayWait = timeoutMs != 0 && _crossThread.IsEmpty && _backlog.Count == 0
            && Volatile.Read(ref _lifecycle) == Running;
        if ((SetupFlags & Constants.IORING_SETUP_SQPOLL) != 0)
            return TurnPolled(timeoutMs, mayWait);
        // One kernel entry per turn: submit what was prepared and, if no completion is ready,
        // wait for one in the same call (io_uring returns at once when one is).
        _enterCalls++;
        int r;
        if (!mayWait)
            r = Liburing.io_uring_submit_and_get_events(_ring);
        else if (timeoutMs < 0)
            r = Liburing.io_uring_submit_and_wait(_ring, 1);
        else
            r = SubmitAndWaitFor(timeoutMs);
        CheckEnter(r, mayWait ? "io_uring_submit_and_wait" : "io_uring_submit_and_get_events");
        return Reap();
    }

    /// <summary>
    /// A turn on an SQPOLL ring: the kernel's polling thread takes the SQEs, so submitting enters
    /// the kernel only to wake that thread, and completions are read straight from the CQ; the
    /// loop enters the kernel only to sleep when nothing is ready.
    /// </summary>
    private int TurnPolled(int timeoutMs, bool mayWait)
    {
        _enterCalls++;
        CheckEnter(Liburing.io_uring_submit(_ring), "io_uring_submit");
        var reaped = Reap();
        if (reaped > 0 || !mayWait || _shutdownDone)
            return reaped;
        _enterCalls++;
        CheckEnter(timeoutMs < 0 ? Liburing.io_uring_submit_and_wait(_ring, 1) : SubmitAndWaitFor(timeoutMs), "io_uring_submit_and_wait");
        return Reap();
    }

    private int SubmitAndWaitFor(int timeoutMs)
    {
        __kernel_timespec ts;
        ts.tv_sec = timeoutMs / 1000;
        ts.tv_nsec = timeoutMs % 1000 * 1_000_000L;
        io_uring_cqe* cqe;
        return Liburing.io_uring_submit_and_wait_timeout(_ring, &cqe, 1, &ts, null);
    }

    /// <summary>Pressure (EBUSY, EAGAIN), a signal (EINTR) and an expired wait (ETIME) are not errors of the loop.</summary>
    private static void CheckEnter(int r, string call)
    {
        if (r < 0 && r != -Errno.EBUSY && r != -Errno.EAGAIN && r != -Errno.EINTR && r != -Errno.ETIME)
            throw new UringIOException(-r, call);
    }

    /// <summary>Keeps a read pending on the cross-thread queue's eventfd, so a producer's write wakes a sleeping loop.</summary>
    private void ArmWake()
    {
        if (_wakeArmed)
            return;
        var sqe = Liburing.io_uring_get_sqe(_ring);
        if (sqe == null)
        {
            SubmitPending();
            sqe = Liburing.io_uring_get_sqe(_ring);
            if (sqe == null)
                return; // try again next iteration
        }
        Liburing.io_uring_prep_read(sqe, _crossThread.EventFd, _wakeBuffer, 8, 0);
        Liburing.io_uring_sqe_set_data64(sqe, WakeUserData);
        _wakeArmed = true;
        _internalInKernel++;
    }

    private void WaitForCompletion(int timeoutMs)
    {
        _enterCalls++;
        io_uring_cqe* cqe;
        if (timeoutMs < 0)
        {
            Liburing.io_uring_submit_and_wait(_ring, 1);
            return;
        }
        __kernel_timespec ts;
        ts.tv_sec = timeoutMs / 1000;
        ts.tv_nsec = timeoutMs % 1000 * 1_000_000L;
        Liburing.io_uring_wait_cqe_timeout(_ring, &cqe, &ts);
    }

    /// <summary>A synchronous wait on the owner thread: turns the loop until the operation completes (or the time is up).</summary>
    internal bool DriveUntilCompleted<T>(Operation<T> op, long token, int timeoutMs)
    {
        var deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        while (!op.IsCompleted(token))
        {
            if (_shutdownDone)
                return op.IsCompleted(token);
            var remaining = timeoutMs < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
            Turn(remaining); // at least one turn, even for Wait(TimeSpan.Zero): polling makes progress
            if (timeoutMs >= 0 && Environment.TickCount64 >= deadline)
                return op.IsCompleted(token);
        }
        return true;
    }

    private void LoopMain()
    {
        try
        {
            while (Volatile.Read(ref _lifecycle) == Running)
                Turn(-1);
        }
        finally
        {
            ShutDownNow();
        }
    }
}
