using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using Uring.Bindings;

namespace Uring;

/// <summary>
/// An operation that produces several CQEs for one user_data: every CQE carrying
/// IORING_CQE_F_MORE goes to <see cref="OnIntermediateCompletion"/> and leaves the operation in
/// the kernel; the last one (without F_MORE) goes to <see cref="Operation.Complete"/>.
/// </summary>
internal abstract unsafe class MultishotOperation : Operation
{
    internal override long Version => 0; // not pooled: one object per stream

    /// <summary>A CQE with IORING_CQE_F_MORE (owner thread).</summary>
    internal abstract void OnIntermediateCompletion(int res, uint flags);

    internal sealed override bool OnAdditionalCompletion(ref int res, uint flags)
    {
        if ((flags & Constants.IORING_CQE_F_MORE) == 0)
            return false;
        OnIntermediateCompletion(res, flags);
        return true;
    }
}

/// <summary>What a stream does after the last CQE of one arming.</summary>
internal enum MultishotNext
{
    Rearm,
    End,
    /// <summary>Re-arm later: <see cref="MultishotStream{T}.Park"/> says when.</summary>
    Park,
}

/// <summary>
/// A multishot operation consumed as an <see cref="IAsyncEnumerator{T}"/>. Items produced by
/// CQEs are queued until the consumer asks; the operation is re-armed when the kernel ends it
/// (a CQE without IORING_CQE_F_MORE) unless the stream is stopping.
/// </summary>
/// <remarks>
/// <para>Stopping (<see cref="DisposeAsync"/>, the enumerator's token, or the end of the stream)
/// cancels the kernel request, waits for its last CQE, and releases the items nobody consumed
/// (<see cref="Release"/>): no fd or buffer is lost.</para>
/// <para><b>Backpressure.</b> With a bound (<c>maxQueued</c> &gt; 0), a stream whose consumer
/// falls behind pauses: when the queue reaches the bound, the kernel request is cancelled (or,
/// if the kernel ended it meanwhile, not re-armed). What the kernel delivered before its last
/// CQE is queued as usual — nothing is dropped — and the consumer drains it in order. Once the
/// consumer has taken the queue down to half the bound, the stream arms a new request, which
/// continues where the socket (or listener) stands. A pause is invisible to the consumer; the
/// cancel it sends names the arming it pauses (<see cref="Version"/> counts armings), so it can
/// never reach a later one.</para>
/// </remarks>
internal abstract class MultishotStream<T> : MultishotOperation, IAsyncEnumerator<T>, IValueTaskSource<bool>
{
    private readonly Lock _gate = new();
    private readonly Queue<T> _items;
    private readonly TaskCompletionSource _quiesced;
    private readonly CancellationToken _token;
    private readonly int _maxQueued, _resumeAt;
    private ManualResetValueTaskSourceCore<bool> _core;
    private CancellationTokenRegistration _registration;
    private T _current = default!;
    private bool _started, _waiting, _armed, _parked, _finished, _stopRequested;
    private bool _pausing; // a cancel went out because the queue reached the bound: the last CQE pauses, not ends
    private bool _paused;  // no request armed, for backpressure: the consumer's next takes re-arm
    private Exception? _error, _stopError;
    private Action? _resume; // Resume, as a delegate made once

    private readonly FileDescriptor _file;
    private SafeHandle? _fileReference; // a handle stays referenced from the first arming to the end of the stream

    /// <summary>The fd the request is armed on (valid once the stream has begun).</summary>
    protected int Fd { get; private set; }

    /// <param name="ring">The ring.</param>
    /// <param name="opcode">The opcode of every arming.</param>
    /// <param name="file">What the request is armed on.</param>
    /// <param name="token">Stops the stream (abortively: unconsumed items are released).</param>
    /// <param name="maxQueued">Items the consumer may fall behind by before the stream pauses; 0: no bound.</param>
    protected MultishotStream(Ring ring, io_uring_op opcode, FileDescriptor file, CancellationToken token, int maxQueued = 0)
    {
        Ring = ring;
        Opcode = opcode;
        _file = file;
        _token = token;
        _maxQueued = maxQueued;
        _resumeAt = maxQueued / 2;
        // A bounded queue gets its room now (the bound and the CQE or two that may come while
        // the pause's cancel is on its way), so that a stream in use never allocates.
        _items = maxQueued > 0 ? new Queue<T>(maxQueued + 2) : new Queue<T>();
        _core.RunContinuationsAsynchronously = ring.ContinuationsRunAsynchronously;
        // Like every completion of this ring: inline on the thread that finishes the stream
        // unless the ring asks otherwise, so a consumer on the loop thread stays there.
        _quiesced = new TaskCompletionSource(ring.ContinuationsRunAsynchronously ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None);
    }

    public T Current => _current;

    /// <summary>Times the operation was armed (1 + re-arms). Changes only under the stream's lock.</summary>
    internal int Armings;

    /// <summary>Times the stream paused because its consumer fell behind.</summary>
    internal int Pauses;

    /// <summary>Which arming a cancel is aimed at: a cancel for an arming that has ended resolves without the kernel.</summary>
    internal override long Version => Volatile.Read(ref Armings);

    /// <summary>The bound on queued items (0: none).</summary>
    protected int MaxQueued => _maxQueued;

    /// <summary>Items delivered and not taken by the consumer yet.</summary>
    protected int QueuedCount
    {
        get
        {
            lock (_gate)
                return _items.Count;
        }
    }

    /// <summary>Handles one CQE: delivers items (<see cref="Deliver"/>) and, for the last CQE of an arming, says what comes next.</summary>
    protected abstract MultishotNext OnCompletion(int res, uint flags, bool last, out Exception? error);

    /// <summary>Gives back an item nobody will consume (close an fd, return a buffer).</summary>
    protected abstract void Release(T item);

    /// <summary>
    /// After <see cref="MultishotNext.Park"/>: registers <paramref name="resume"/> to run when the
    /// stream may arm again (a buffer is back, a back-off is over); false when it should re-arm at
    /// once. A stream that stops meanwhile ignores the call.
    /// </summary>
    protected virtual bool Park(Action resume) => false;

    /// <summary>The stream is asked to stop (its token, <see cref="DisposeAsync"/>, or <see cref="StopWith"/>); called once, outside the stream's lock.</summary>
    protected virtual void OnStopping()
    {
    }

    /// <summary>True once the stream has ended (its consumer sees the end, or the error, after the queued items).</summary>
    internal bool IsFinished
    {
        get
        {
            lock (_gate)
                return _finished;
        }
    }

    /// <summary>Stops the stream with <paramref name="error"/>: the consumer gets it instead of the next item.</summary>
    protected void StopWith(Exception error) => Stop(error);

    public ValueTask<bool> MoveNextAsync()
    {
        if (!_started)
            Begin();
        ValueTask<bool> next;
        var resume = false;
        lock (_gate)
        {
            if (_stopError is not null)
                return ValueTask.FromException<bool>(_stopError);
            if (_items.TryDequeue(out var item))
            {
                _current = item;
                next = new ValueTask<bool>(true);
            }
            else if (_finished)
            {
                return _error is null ? new ValueTask<bool>(false) : ValueTask.FromException<bool>(_error);
            }
            else
            {
                _core.Reset();
                _waiting = true;
                next = new ValueTask<bool>(this, _core.Version);
            }
            if (_paused && !_stopRequested && _items.Count <= _resumeAt)
            {
                _paused = false;
                MarkArmed();
                resume = true;
            }
        }
        if (resume)
            Arm();
        return next;
    }

    public async ValueTask DisposeAsync()
    {
        if (_started)
        {
            Stop(null);
            await _quiesced.Task.ConfigureAwait(false);
            await _registration.DisposeAsync().ConfigureAwait(false);
        }
        T[] left;
        lock (_gate)
        {
            left = _items.ToArray();
            _items.Clear();
        }
        foreach (var item in left)
            Release(item);
    }

    private void Begin()
    {
        _started = true;
        if (_token.IsCancellationRequested)
        {
            _stopRequested = true;
            _stopError = new OperationCanceledException(_token);
            Finish(_stopError);
            return;
        }
        try
        {
            byte ignored = 0;
            Fd = _file.Acquire(Ring, ref ignored, ref _fileReference, "fd");
        }
        catch (Exception e)
        {
            _stopRequested = true;
            _stopError = e;
            Finish(e);
            return;
        }
        lock (_gate)
            MarkArmed();
        Arm();
        if (_token.CanBeCanceled)
            _registration = _token.UnsafeRegister(static s => ((MultishotStream<T>)s!).Stop(new OperationCanceledException("The multishot operation was cancelled.")), this);
    }

    /// <summary>A new arming begins (under the lock): its number is what cancels name from now on.</summary>
    /// <remarks>A pause's cancel marked this object for the arming it paused; the new arming must
    /// not look cancelled when the ring submits it. (A stop's cancel is never undone here: every
    /// re-arm checks <c>_stopRequested</c> under the same lock first.)</remarks>
    private void MarkArmed()
    {
        _armed = true;
        Armings++;
        Volatile.Write(ref CancelRequested, 0);
    }

    private void Arm() => Ring.Submit(this);

    private bool QueueFull => _maxQueued > 0 && _items.Count >= _maxQueued;

    /// <summary>Queues an item for the consumer, or hands it over if the consumer is waiting (owner thread).</summary>
    protected void Deliver(T item)
    {
        var release = false;
        var signal = false;
        var pause = false;
        var arming = 0;
        lock (_gate)
        {
            if (_stopRequested)
            {
                release = true;
            }
            else if (_waiting)
            {
                _waiting = false;
                _current = item;
                signal = true;
            }
            else
            {
                _items.Enqueue(item);
                // Pause a request that stays armed. The last CQE of an arming (the request has
                // already left the kernel) needs no cancel: Complete sees the full queue.
                if (QueueFull && _armed && !_pausing && Volatile.Read(ref Stage) == StageInKernel)
                {
                    pause = _pausing = true;
                    arming = Armings;
                }
            }
        }
        if (release)
            Release(item);
        else if (signal)
            _core.SetResult(true);
        else if (pause)
            CancelArming(arming);
    }

    internal override void OnIntermediateCompletion(int res, uint flags) => OnCompletion(res, flags, last: false, out _);

    internal override void Complete(int res, uint cqeFlags)
    {
        Volatile.Write(ref Stage, StageCompleted);
        var cancelled = res == -Errno.ECANCELED;
        MultishotNext next;
        Exception? error = null;
        if (cancelled)
            next = MultishotNext.End;
        else
            next = OnCompletion(res, cqeFlags, last: true, out error);

        var rearm = false;
        var park = false;
        lock (_gate)
        {
            _armed = false;
            var pausing = _pausing; // this arming was cancelled for backpressure
            _pausing = false;
            var wouldGoOn = next != MultishotNext.End || cancelled;
            if (_stopRequested)
            {
                next = MultishotNext.End;
                error = _stopError;
            }
            else if (wouldGoOn && Ring.IsDisposed)
            {
                next = MultishotNext.End;
                error = new RingDisposedException($"{Opcode} (multishot) ended because the ring was disposed.", Opcode);
            }
            else if (wouldGoOn && (pausing || QueueFull) && _items.Count > _resumeAt)
            {
                // Backpressure: the consumer re-arms once it has caught up (MoveNextAsync). Not
                // when it already has (it may be waiting for the next item right now).
                _paused = true;
                Pauses++;
                return;
            }
            else if (cancelled && !pausing)
            {
                error = new OperationCanceledException($"{Opcode} (multishot) was cancelled.");
            }
            else if (cancelled)
            {
                next = MultishotNext.Rearm; // the pause's cancel, but the consumer caught up meanwhile
            }
            if (next == MultishotNext.Rearm)
            {
                MarkArmed();
                rearm = true;
            }
            else if (next == MultishotNext.Park)
            {
                park = _parked = true;
            }
        }
        if (rearm)
            Arm();
        else if (park)
        {
            if (!Park(_resume ??= Resume))
                Resume();
        }
        else
            Finish(error);
    }

    /// <summary>Re-arms a parked stream (what <see cref="Park"/>'s callback does); nothing when it is not parked or is stopping.</summary>
    protected void Resume()
    {
        lock (_gate)
        {
            if (!_parked)
                return;
            _parked = false;
            if (_stopRequested || _finished)
                return;
            if (QueueFull)
            {
                _paused = true; // the consumer re-arms when it catches up
                Pauses++;
                return;
            }
            MarkArmed();
        }
        Arm();
    }

    internal override void FailLocally(Exception error)
    {
        Volatile.Write(ref Stage, StageCompleted);
        lock (_gate)
            _armed = false;
        Finish(_stopRequested ? _stopError : error);
    }

    /// <summary>Asks the stream to stop: cancels the armed request (its last CQE ends the stream) or ends it at once.</summary>
    private void Stop(Exception? error)
    {
        bool armed;
        int arming;
        lock (_gate)
        {
            if (_stopRequested || _finished)
                return;
            _stopRequested = true;
            _stopError = error;
            armed = _armed;
            arming = Armings;
            _parked = false;
        }
        OnStopping();
        if (!armed)
        {
            Finish(error);
            return;
        }
        CancelArming(arming);
    }

    /// <summary>IORING_OP_ASYNC_CANCEL for arming number <paramref name="arming"/>: its last CQE follows.</summary>
    private void CancelArming(int arming)
    {
        try
        {
            Ring.CancelOperation(this, arming);
        }
        catch (RingDisposedException)
        {
            // the ring's shutdown cancels everything itself; the last CQE (or FailLocally) ends the stream
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void Finish(Exception? error)
    {
        bool wasWaiting;
        lock (_gate)
        {
            if (_finished)
                return;
            _finished = true;
            _error = error;
            wasWaiting = _waiting;
            _waiting = false;
        }
        FileDescriptor.Release(ref _fileReference); // the kernel is done with the fd: no request is armed any more
        _quiesced.TrySetResult();
        if (wasWaiting)
        {
            if (error is null)
                _core.SetResult(false);
            else
                _core.SetException(error);
        }
    }

    public bool GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}

/// <summary>The <see cref="IAsyncEnumerable{T}"/> face of a multishot operation: each enumeration arms its own request.</summary>
internal sealed class MultishotEnumerable<T>(Func<CancellationToken, MultishotStream<T>> create) : IAsyncEnumerable<T>
{
    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) => create(cancellationToken);
}

/// <summary>IORING_OP_ACCEPT with IORING_ACCEPT_MULTISHOT: one fd per CQE.</summary>
/// <remarks>
/// With a <see cref="ResilientAccept"/> policy, a last CQE with EMFILE, ENFILE, ENOBUFS or ENOMEM
/// parks the stream instead of ending it: a ring timeout (no thread, no descriptor) runs for the
/// back-off, and its CQE — or its cancellation by <see cref="RetryNow"/> — re-arms the request.
/// The pause state is touched by the thread that reaps the CQEs; only the pending timeout, and a
/// retry asked for while no timeout was pending, are shared with <see cref="RetryNow"/> and a
/// stop, under <see cref="_backoffGate"/>.
/// </remarks>
internal sealed unsafe class MultishotAccept : MultishotStream<int>
{
    private const int ECONNABORTED = 103, EINTR = 4, EAGAIN = 11, EINVAL = 22;
    private readonly ResilientAccept? _policy;
    private readonly TimeSpan _initialDelay, _maximumDelay;

    // Pause state (the reaping thread).
    private TimeSpan _delay;            // the next back-off
    private bool _outOfResources;       // accepting failed for want of resources, and has not succeeded since
    private int _failedAttempts;
    private long _pausedSince;          // Stopwatch timestamp of the pause's first failure
    private int _lastErrno;
    private Action? _onBackoffOver;     // OnBackoffOver, as a delegate made once
    private ValueTask<bool> _backoffWait;

    // The pending back-off timeout, shared with RetryNow and a stop.
    private readonly Lock _backoffGate = new();
    private CancelableFuture<bool> _backoff;
    private volatile bool _backoffPending;
    // RetryNow came during a pause while an attempt was in the kernel (no timeout to cut short):
    // if that attempt fails, the back-off that follows ends at once.
    private bool _retryAsked;

    private MultishotAccept(Ring ring, FileDescriptor listenFd, ResilientAccept? policy, CancellationToken token)
        : base(ring, io_uring_op.IORING_OP_ACCEPT, listenFd, token)
    {
        _policy = policy;
        if (policy is not null)
        {
            _initialDelay = policy.InitialBackoff;
            _maximumDelay = policy.MaximumBackoff;
            _delay = _initialDelay;
        }
    }

    /// <summary>The stream behind <see cref="Ring.AcceptMultishot"/>; each enumeration arms its own request.</summary>
    internal static IAsyncEnumerable<int> Open(Ring ring, FileDescriptor listenFd)
    {
        CheckListener(ring, listenFd);
        return new MultishotEnumerable<int>(ct => new MultishotAccept(ring, listenFd, null, ct));
    }

    /// <summary>A stream for <paramref name="policy"/> (see <see cref="ResilientAccept.GetAsyncEnumerator"/>).</summary>
    internal static MultishotAccept Create(Ring ring, FileDescriptor listenFd, ResilientAccept policy, CancellationToken token) =>
        new(ring, listenFd, policy, token);

    /// <summary>Refuses what is not a listening socket, so that a later EINVAL can only mean that the listener was shut down.</summary>
    internal static void CheckListener(Ring ring, FileDescriptor listenFd)
    {
        listenFd.Check(nameof(listenFd), allowRegistered: false);
        SafeHandle? reference = null;
        byte flags = 0;
        var fd = listenFd.Acquire(ring, ref flags, ref reference, nameof(listenFd));
        try
        {
            if (!SocketNative.IsListening(fd))
                throw new ArgumentException($"fd {fd} is not a listening socket.", nameof(listenFd));
            ring.CheckCanStart(io_uring_op.IORING_OP_ACCEPT);
        }
        finally
        {
            FileDescriptor.Release(ref reference);
        }
    }

    /// <summary>True while accepting is paused for want of descriptors or memory.</summary>
    internal bool IsPaused => Volatile.Read(ref _outOfResources);

    internal override void Prepare(io_uring_sqe* sqe) =>
        Liburing.io_uring_prep_multishot_accept(sqe, Fd, null, null, SocketNative.SOCK_CLOEXEC);

    protected override MultishotNext OnCompletion(int res, uint flags, bool last, out Exception? error)
    {
        error = null;
        if (res >= 0)
        {
            var handlerError = _policy is null ? null : NoteAccepted();
            Deliver(res);
            if (handlerError is not null)
                StopWith(handlerError);
            return MultishotNext.Rearm;
        }
        if (res is -ECONNABORTED or -EINTR or -EAGAIN)
            return MultishotNext.Rearm; // one failed handshake does not end the listener
        if (res == -EINVAL && last)
            return MultishotNext.End; // the listener was shut down (it was listening when the stream was created)
        if (_policy is not null && last && ResilientAccept.IsLackOfResources(-res))
        {
            error = NoteFailure(-res);
            return error is null ? MultishotNext.Park : MultishotNext.End;
        }
        error = new UringIOException(-res, Opcode, "multishot accept");
        return MultishotNext.End;
    }

    /// <summary>An fd came: the back-off starts over, and a pause ends. Returns what a handler threw.</summary>
    private Exception? NoteAccepted()
    {
        _delay = _initialDelay;
        if (!_outOfResources)
            return null;
        Volatile.Write(ref _outOfResources, false);
        lock (_backoffGate)
            _retryAsked = false; // the pause is over: a retry asked for during it is spent
        return _policy!.OnResumed(_lastErrno, Stopwatch.GetElapsedTime(_pausedSince), _failedAttempts);
    }

    /// <summary>The kernel ended the request for want of resources: a pause begins, or goes on. Returns what a handler threw.</summary>
    private Exception? NoteFailure(int errno)
    {
        _lastErrno = errno;
        if (_outOfResources)
        {
            _failedAttempts++;
            return _policy!.OnRetryFailed(errno, _delay, Stopwatch.GetElapsedTime(_pausedSince), _failedAttempts);
        }
        _pausedSince = Stopwatch.GetTimestamp();
        _failedAttempts = 1;
        Volatile.Write(ref _outOfResources, true);
        return _policy!.OnPaused(errno, _delay, _failedAttempts);
    }

    /// <summary>Waits out the back-off on a ring timeout, then re-arms through <paramref name="resume"/>.</summary>
    protected override bool Park(Action resume)
    {
        if (_policy is null)
            return false;
        CancelableFuture<bool> timer;
        try
        {
            timer = Ring.Timeout(_delay);
        }
        catch (Exception e) when (e is RingDisposedException or ObjectDisposedException)
        {
            return false; // re-arming fails the same way and ends the stream
        }
        bool retryAsked;
        lock (_backoffGate)
        {
            retryAsked = _retryAsked;
            _retryAsked = false;
            _backoff = timer;
            _backoffPending = !retryAsked;
        }
        _backoffWait = timer.AsValueTask();
        _backoffWait.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onBackoffOver ??= OnBackoffOver);
        if (retryAsked)
            CancelBackoff(timer); // a descriptor was freed while the attempt that just failed was in the kernel
        return true;
    }

    /// <summary>The back-off's timeout completed: it fired, or <see cref="RetryNow"/> or a stop cancelled it.</summary>
    private void OnBackoffOver()
    {
        lock (_backoffGate)
        {
            _backoffPending = false;
            _backoff = default;
        }
        var wait = _backoffWait;
        _backoffWait = default;
        try
        {
            wait.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            // cut short by RetryNow (or the stream stopping: then the re-arm below does nothing)
        }
        catch (RingDisposedException)
        {
            // the re-arm below fails the same way and ends the stream
        }
        _delay = TimeSpan.FromTicks(Math.Min(_delay.Ticks * 2, _maximumDelay.Ticks));
        Resume();
    }

    /// <summary>Ends a pending back-off now: the request is re-armed at once. During a pause with an
    /// attempt in the kernel, the back-off that follows if that attempt fails ends at once instead.
    /// Nothing happens when accepting is not paused.</summary>
    internal void RetryNow()
    {
        if (!_backoffPending && !IsPaused)
            return;
        CancelableFuture<bool> timer;
        lock (_backoffGate)
        {
            if (!_backoffPending)
            {
                if (IsPaused)
                    _retryAsked = true; // not lost: Park sees it
                return;
            }
            _backoffPending = false;
            timer = _backoff;
        }
        CancelBackoff(timer);
    }

    private static void CancelBackoff(CancelableFuture<bool> timer)
    {
        try
        {
            _ = timer.Cancel(); // the timeout's own CQE (cancelled, or fired first) re-arms
        }
        catch (Exception e) when (e is InvalidOperationException or RingDisposedException)
        {
            // it completed meanwhile (the version moved on), or the ring is going away
        }
    }

    protected override void OnStopping() => RetryNow(); // the timeout goes; its CQE finds the stream stopped

    protected override void Release(int fd) => LibC.close(fd);
}

/// <summary>IORING_OP_RECV with IORING_RECV_MULTISHOT and a provided buffer ring: one lease per CQE.</summary>
/// <remarks>
/// With a bound on queued leases, each arming also carries a byte limit (the SQE's
/// <c>optlen</c>, Linux 6.17+): the kernel ends the request by itself once it has received
/// what the free places in the queue can hold in whole buffers. Without it, one wake-up of a
/// socket with a lot of data could fill up to 32 buffers before the pause's cancel is even
/// submitted, and a peer that sends without reading could take the ring from the others. A
/// kernel that refuses the limit (EINVAL before 6.17) is asked once; the bound is then kept by
/// the cancel alone.
/// </remarks>
internal sealed unsafe class MultishotReceive : MultishotStream<ProvidedBuffer>
{
    private const int ENOBUFS = 105;
    private static volatile bool s_byteLimitRefused;
    private readonly BufferRing _buffers;
    private readonly MessageFlags _flags;
    private bool _byteLimitSent; // the arming in the kernel carries a byte limit

    private MultishotReceive(Ring ring, FileDescriptor fd, BufferRing buffers, MessageFlags flags, int maxQueued, CancellationToken token)
        : base(ring, io_uring_op.IORING_OP_RECV, fd, token, maxQueued)
    {
        _flags = flags;
        _buffers = buffers;
        SqeFlags = (byte)Constants.IOSQE_BUFFER_SELECT;
    }

    /// <summary>The stream behind <see cref="Ring.ReceiveMultishot(FileDescriptor, BufferRing, MessageFlags)"/>; each enumeration arms its own request.</summary>
    internal static IAsyncEnumerable<ProvidedBuffer> Open(Ring ring, FileDescriptor fd, BufferRing bufferRing, MessageFlags flags) =>
        Open(ring, fd, bufferRing, flags, 0);

    /// <summary>The stream behind <see cref="Ring.ReceiveMultishot(FileDescriptor, BufferRing, int, MessageFlags)"/>.</summary>
    internal static IAsyncEnumerable<ProvidedBuffer> Open(Ring ring, FileDescriptor fd, BufferRing bufferRing, MessageFlags flags, int maxQueued)
    {
        fd.Check(nameof(fd), allowRegistered: false);
        ring.CheckBufferRing(bufferRing, nameof(bufferRing));
        ArgumentOutOfRangeException.ThrowIfNegative(maxQueued);
        if (maxQueued > 0 && (flags & MessageFlags.WaitAll) != 0)
            throw new ArgumentException("A multishot receive cannot wait for all bytes (MSG_WAITALL): the kernel refuses it.", nameof(flags));
        ring.CheckCanStart(io_uring_op.IORING_OP_RECV);
        return new MultishotEnumerable<ProvidedBuffer>(ct => new MultishotReceive(ring, fd, bufferRing, flags, maxQueued, ct));
    }

    /// <summary>The kernel refused the per-arming byte limit once: later armings go without it (tests reset it).</summary>
    internal static bool ByteLimitRefused
    {
        get => s_byteLimitRefused;
        set => s_byteLimitRefused = value;
    }

    internal override void Prepare(io_uring_sqe* sqe)
    {
        Liburing.io_uring_prep_recv_multishot(sqe, Fd, null, 0, (int)_flags);
        Liburing.io_uring_sqe_set_buf_group(sqe, _buffers.GroupId);
        _byteLimitSent = MaxQueued > 0 && !s_byteLimitRefused;
        if (_byteLimitSent)
        {
            // Whole buffers for the free places in the queue (at least one).
            var places = Math.Max(1, MaxQueued - QueuedCount);
            sqe->optlen = (uint)Math.Min((long)places * _buffers.BufferSize, uint.MaxValue);
        }
    }

    protected override MultishotNext OnCompletion(int res, uint flags, bool last, out Exception? error)
    {
        error = null;
        if (res > 0)
        {
            if ((flags & Constants.IORING_CQE_F_BUFFER) == 0)
            {
                error = new InvalidOperationException("A buffer-select receive completed without a buffer.");
                return MultishotNext.End;
            }
            // A CQE without F_MORE and with data: the byte limit was reached (or the kernel
            // stopped for its own reasons); the stream re-arms unless its queue is full.
            Deliver(_buffers.Take((ushort)(flags >> Constants.IORING_CQE_BUFFER_SHIFT), res));
            return MultishotNext.Rearm;
        }
        if (res == 0)
            return last ? MultishotNext.End : MultishotNext.Rearm; // the peer closed: end of stream
        if (res == -ENOBUFS)
        {
            if (_buffers.IsDisposed)
            {
                // The group was unregistered under the armed receive: waiting would never end.
                error = new ObjectDisposedException(nameof(BufferRing), "The buffer ring of this multishot receive was disposed.");
                return MultishotNext.End;
            }
            _buffers.NoteEnobufs();
            return MultishotNext.Park;
        }
        if (res == -Errno.EINVAL && last && _byteLimitSent)
        {
            // A kernel before 6.17 reads optlen as file_index and refuses it (the flags were
            // checked when the stream was opened): go on without the limit.
            s_byteLimitRefused = true;
            return MultishotNext.Rearm;
        }
        error = new UringIOException(-res, Opcode, "multishot receive");
        return last ? MultishotNext.End : MultishotNext.Rearm;
    }

    protected override bool Park(Action resume) => _buffers.WhenBufferReturned(resume);

    protected override void Release(ProvidedBuffer item) => item.Dispose();
}
