using System.Runtime.InteropServices;

namespace Uring.Scripting;

/// <summary>
/// A <see cref="Uring.Ring"/> driven by a script's thread, with a completion queue the script
/// drains in batches and an eventfd that becomes readable when the kernel posts completions.
/// </summary>
/// <remarks>
/// <para>The ring uses <see cref="RingThreading.CallerThread"/>: the thread that creates it
/// submits and reaps (with SINGLE_ISSUER | DEFER_TASKRUN by default), so an operation costs no
/// thread hop. Completions reach the queue when the owner drives the ring
/// (<see cref="Drive"/>); the eventfd tells an event loop when that is worth doing.</para>
/// <para>The eventfd is registered with the ring through <see cref="Ring.RegisterEventFd"/>
/// (IORING_REGISTER_EVENTFD).</para>
/// </remarks>
internal sealed unsafe class ScriptRing
{
    private const int MaxMessages = 4096;

    private readonly object _gate = new();
    private readonly Dictionary<ulong, PendingOperation> _inFlight = new();
    private readonly Dictionary<ulong, string> _messages = new();
    private readonly Dictionary<ulong, Queue<ProvidedBuffer>> _unclaimedLeases = new();
    private readonly Dictionary<int, ProvidedBuffer> _leases = new();
    private readonly Dictionary<ulong, CancellationTokenSource> _streams = new();
    private readonly Dictionary<ulong, ResilientAccept> _resilientAccepts = new(); // running, by token (RetryAccept)
    private readonly Dictionary<ulong, Queue<AcceptPauseInfo>> _acceptPauses = new(); // reported, not taken yet
    private readonly Dictionary<ulong, object> _details = new(); // results an int cannot carry, by token
    private Completion[] _queue = new Completion[1024];
    private int _head;
    private int _count;
    private int _lastLeaseId;
    private int _eventFd;
    private bool _closed;

    // The caller's completion array for Exports.ReapI (registered once; the caller keeps it alive).
    private Completion* _reapBuffer;
    private int _reapCapacity;

    private ScriptRing(Ring ring, int eventFd)
    {
        Ring = ring;
        _eventFd = eventFd;
    }

    internal Ring Ring { get; }

    /// <summary>The ring's id in <see cref="HandleTable"/> (for the 32-bit entry points).</summary>
    internal int Id { get; set; }

    internal void SetReapBuffer(Completion* buffer, int capacity)
    {
        if (buffer == null || capacity <= 0)
            throw new ArgumentException("A completion array with room for at least one completion is needed.");
        _reapBuffer = buffer;
        _reapCapacity = capacity;
    }

    /// <summary><see cref="Reap"/> into the registered array.</summary>
    internal int ReapRegistered(int timeoutMs) =>
        _reapBuffer == null
            ? throw new InvalidOperationException("No completion array was registered for this ring.")
            : Reap(_reapBuffer, _reapCapacity, timeoutMs);

    internal int EventFd => _eventFd;

    internal int InFlight
    {
        get { lock (_gate) return _inFlight.Count + _streams.Count; }
    }

    internal bool IsClosed => _closed;

    /// <summary>The façade ring, unless closed.</summary>
    internal Ring Open() => _closed ? throw new RingDisposedException("The ring was closed.") : Ring;

    internal static ScriptRing Create(RingOptions options)
    {
        options.Threading = RingThreading.CallerThread;
        var ring = new Ring(options);
        var eventFd = -1;
        try
        {
            eventFd = Native.eventfd(0, Native.EFD_CLOEXEC | Native.EFD_NONBLOCK);
            if (eventFd < 0)
                throw new UringIOException(Marshal.GetLastPInvokeError(), "eventfd");
            ring.RegisterEventFd(eventFd);
            return new ScriptRing(ring, eventFd);
        }
        catch
        {
            ring.Dispose();
            if (eventFd >= 0)
                Native.close(eventFd);
            throw;
        }
    }

    // ---------------------------------------------------------------- operations

    /// <summary>Throws if <paramref name="token"/> names an operation still in flight (checked before submitting).</summary>
    internal void CheckToken(ulong token)
    {
        lock (_gate)
        {
            if (_closed)
                throw new RingDisposedException("The ring was closed.");
            if (_inFlight.ContainsKey(token) || _streams.ContainsKey(token))
                throw new ArgumentException($"Token {token} already names an operation in flight.", nameof(token));
        }
    }

    internal void Track<T>(ulong token, CancelableFuture<T> future) => PendingOperation<T>.Start(this, token, future);

    internal void Register(ulong token, PendingOperation pending)
    {
        lock (_gate)
            _inFlight[token] = pending;
    }

    /// <summary>Called by the continuation (or at once for operations refused locally).</summary>
    internal void Deliver(ulong token, int result, ErrorKind status, PendingOperation? pending) =>
        Deliver(token, result, (uint)status, pending);

    internal void Deliver(ulong token, int result, uint status, PendingOperation? pending)
    {
        lock (_gate)
        {
            if (!Ring.IsOwnerThread && _eventFd >= 0)
            {
                // Delivered off the owner thread (a continuation the runtime ran elsewhere): the
                // kernel will not signal the eventfd for it, so wake an event loop ourselves.
                // Under the lock: Free cannot close the fd meanwhile.
                ulong one = 1;
                Native.write(_eventFd, &one, 8);
            }
            if (pending is not null && _inFlight.TryGetValue(token, out var current) && ReferenceEquals(current, pending))
                _inFlight.Remove(token);
            if (_count == _queue.Length)
            {
                var bigger = new Completion[_queue.Length * 2];
                for (var i = 0; i < _count; i++)
                    bigger[i] = _queue[(_head + i) & (_queue.Length - 1)];
                _queue = bigger;
                _head = 0;
            }
            ref var slot = ref _queue[(_head + _count) & (_queue.Length - 1)];
            slot.Token = token;
            slot.Result = result;
            slot.Status = status;
            _count++;
        }
    }

    internal void RememberMessage(ulong token, string message)
    {
        lock (_gate)
        {
            if (_messages.Count >= MaxMessages)
                _messages.Clear(); // nobody asked for them: do not grow without bound
            _messages[token] = message;
        }
    }

    /// <summary>Keeps a buffer a provided-buffer recv completed with, until the script takes it (<see cref="TakeLease"/>).</summary>
    internal void StoreLease(ulong token, ProvidedBuffer lease)
    {
        lock (_gate)
        {
            EnqueueFor(_unclaimedLeases, token, lease);
        }
    }

    /// <summary>The next buffer received under <paramref name="token"/> (in completion order), as a lease id.</summary>
    internal int TakeLease(ulong token)
    {
        lock (_gate)
        {
            if (!TryTakeFor(_unclaimedLeases, token, out var lease))
                throw new ArgumentException($"No received buffer is waiting for token {token}.", nameof(token));
            var id = ++_lastLeaseId;
            _leases[id] = lease;
            return id;
        }
    }

    internal ProvidedBuffer Lease(int leaseId)
    {
        lock (_gate)
            return _leases.TryGetValue(leaseId, out var lease) ? lease : throw new ArgumentException($"No received buffer has lease id {leaseId} (released already?).", nameof(leaseId));
    }

    internal void ReleaseLease(int leaseId)
    {
        ProvidedBuffer lease;
        lock (_gate)
        {
            if (!_leases.Remove(leaseId, out lease))
                return;
        }
        lease.Dispose();
    }

    // ---------------------------------------------------------------- multishot streams

    /// <summary>
    /// Pumps a multishot operation: each item becomes a completion with <see cref="Completion.MoreFlag"/>
    /// in its status; the last completion (without it) says how the stream ended.
    /// </summary>
    internal void StartStream<T>(ulong token, IAsyncEnumerable<T> source)
    {
        var cts = new CancellationTokenSource();
        lock (_gate)
            _streams[token] = cts;
        _ = StreamPump.RunAsync(this, token, source, cts);
    }

    /// <summary>
    /// Pumps a resilient accept like any stream (this overload is what the generated entry point
    /// reaches), and reports its pauses as completions under the stream's token, in order with its
    /// items: <see cref="Completion.MoreFlag"/> | <see cref="Completion.EventFlag"/>, the
    /// <see cref="AcceptPauseKind"/> as the result, the details taken with <see cref="TakeAcceptPause"/>.
    /// </summary>
    /// <remarks>The façade raises the events on the thread that reaps the ring — here the script's
    /// own thread, inside a reap — so the handlers only queue: the script runs its callbacks when it
    /// dispatches the completions, outside native code.</remarks>
    internal void StartStream(ulong token, ResilientAccept accept)
    {
        accept.Paused += (_, e) => ReportPause(token, AcceptPauseKind.Paused, e);
        accept.RetryFailed += (_, e) => ReportPause(token, AcceptPauseKind.RetryFailed, e);
        accept.Resumed += (_, e) => ReportPause(token, AcceptPauseKind.Resumed, e);
        lock (_gate)
            _resilientAccepts[token] = accept;
        StartStream<int>(token, accept);
    }

    private void ReportPause(ulong token, AcceptPauseKind kind, AcceptPauseEventArgs e)
    {
        lock (_gate)
        {
            EnqueueFor(_acceptPauses, token, AcceptPauseInfo.From(kind, e));
        }
        Deliver(token, (int)kind, Completion.MoreFlag | Completion.EventFlag, null);
    }

    /// <summary>The oldest pause reported under <paramref name="token"/> and not taken yet (one per event completion).</summary>
    internal AcceptPauseInfo TakeAcceptPause(ulong token)
    {
        lock (_gate)
        {
            if (!TryTakeFor(_acceptPauses, token, out var info))
                throw new ArgumentException($"No accept pause is waiting for token {token}.", nameof(token));
            return info;
        }
    }

    /// <summary>Cuts the back-off of the resilient accept running under <paramref name="token"/> short; nothing when it has ended or is not paused.</summary>
    internal void RetryAccept(ulong token)
    {
        ResilientAccept? accept;
        lock (_gate)
            _resilientAccepts.TryGetValue(token, out accept);
        accept?.RetryNow();
    }

    /// <summary>Appends <paramref name="item"/> to <paramref name="token"/>'s queue in <paramref name="queues"/> (under <see cref="_gate"/>).</summary>
    private static void EnqueueFor<T>(Dictionary<ulong, Queue<T>> queues, ulong token, T item)
    {
        if (!queues.TryGetValue(token, out var queue))
            queues[token] = queue = new Queue<T>();
        queue.Enqueue(item);
    }

    /// <summary>Takes the oldest item of <paramref name="token"/>'s queue, dropping the queue once empty (under <see cref="_gate"/>).</summary>
    private static bool TryTakeFor<T>(Dictionary<ulong, Queue<T>> queues, ulong token, out T item)
    {
        if (!queues.TryGetValue(token, out var queue) || !queue.TryDequeue(out item!))
        {
            item = default!;
            return false;
        }
        if (queue.Count == 0)
            queues.Remove(token);
        return true;
    }

    internal void EndStream(ulong token, CancellationTokenSource cts)
    {
        lock (_gate)
        {
            _streams.Remove(token);
            _resilientAccepts.Remove(token); // its pauses stay until taken: their completions may still be queued
        }
        cts.Dispose();
    }

    internal void CancelStream(ulong token)
    {
        CancellationTokenSource? cts;
        lock (_gate)
            _streams.TryGetValue(token, out cts);
        cts?.Cancel();
    }

    /// <summary>Keeps what a result carries beside its int (statx data, a second fd, an address) until taken.</summary>
    internal void StoreDetail(ulong token, object detail)
    {
        lock (_gate)
        {
            if (_details.Count >= MaxMessages)
                _details.Clear(); // nobody took them: do not grow without bound
            _details[token] = detail;
        }
    }

    internal T TakeDetail<T>(ulong token)
    {
        lock (_gate)
        {
            if (_details.Remove(token, out var detail) && detail is T typed)
                return typed;
        }
        throw new ArgumentException($"No {(typeof(T) == typeof(object) ? "result detail" : typeof(T).Name)} is held for token {token} (taken already, or another kind of result?).", nameof(token));
    }

    /// <summary>Waits (driving the ring) up to <paramref name="waitMs"/> for <paramref name="future"/>: its result, or
    /// <see cref="Exports.Pending"/> with the operation tracked under <paramref name="token"/>. A failure throws.</summary>
    internal int WaitOrTrack<T>(ulong token, CancelableFuture<T> future, int waitMs)
    {
        if (!future.Wait(TimeSpan.FromMilliseconds(waitMs)))
        {
            Track(token, future);
            return Exports.Pending;
        }
        return PendingOperation<T>.ToResult(future.Result);
    }

    internal string? TakeMessage(ulong token)
    {
        lock (_gate)
            return _messages.Remove(token, out var message) ? message : null;
    }

    /// <summary>Cancels the operation named <paramref name="target"/>; the cancel's own outcome arrives under <paramref name="cancelToken"/>.</summary>
    internal void Cancel(ulong target, ulong cancelToken)
    {
        CheckToken(cancelToken);
        PendingOperation? pending;
        lock (_gate)
            _inFlight.TryGetValue(target, out pending);
        if (pending is null)
        {
            // Already completed (perhaps still waiting in the queue): nothing to cancel.
            Deliver(cancelToken, (int)CancelOutcome.AlreadyCompleted, ErrorKind.None, null);
            return;
        }
        Track(cancelToken, pending.Cancel());
    }

    // ---------------------------------------------------------------- driving and reaping

    /// <summary>
    /// Submits what is prepared and reaps what is ready; when nothing is queued for the caller
    /// and <paramref name="timeoutMs"/> is not 0, waits up to that long (-1: no limit) for a
    /// completion — but never when nothing is in flight. Returns the completions queued.
    /// </summary>
    internal int Drive(int timeoutMs)
    {
        if (_closed || Ring.IsDisposed)
            return Queued;
        Ring.RunOnce(TimeSpan.Zero);
        if (Queued == 0 && timeoutMs != 0 && Ring.InFlight > 0)
            Ring.RunOnce(timeoutMs < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(timeoutMs));
        return Queued;
    }

    internal int Queued
    {
        get { lock (_gate) return _count; }
    }

    /// <summary>Copies up to <paramref name="capacity"/> completions, oldest first.</summary>
    internal int Drain(Completion* destination, int capacity)
    {
        lock (_gate)
        {
            var n = Math.Min(capacity, _count);
            var mask = _queue.Length - 1;
            for (var i = 0; i < n; i++)
                destination[i] = _queue[(_head + i) & mask];
            _head = (_head + n) & mask;
            _count -= n;
            return n;
        }
    }

    /// <summary>
    /// Reaps: drives the ring (submit + reap, without waiting when completions are already
    /// queued) and drains into <paramref name="destination"/>.
    /// </summary>
    internal int Reap(Completion* destination, int capacity, int timeoutMs)
    {
        if (Queued < capacity)
            Drive(Queued > 0 ? 0 : timeoutMs);
        return Drain(destination, capacity);
    }

    /// <summary>
    /// Disposes the façade ring: everything in flight is cancelled and its completion queued
    /// (the buffers come back only with the CQEs). The queue stays readable until <see cref="Free"/>.
    /// </summary>
    internal void Close()
    {
        if (_closed)
            return;
        List<ProvidedBuffer> leases;
        lock (_gate)
        {
            leases = _leases.Values.Concat(_unclaimedLeases.Values.SelectMany(q => q)).ToList();
            _leases.Clear();
            _unclaimedLeases.Clear();
        }
        foreach (var lease in leases)
            lease.Dispose();
        Ring.Dispose();
        lock (_gate)
            _closed = true;
    }

    internal void Free()
    {
        Close();
        lock (_gate)
        {
            if (_eventFd >= 0)
            {
                Native.close(_eventFd);
                _eventFd = -1;
            }
        }
    }
}
