using System.Runtime.InteropServices;
using Uring.Bindings;

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
/// <para>The eventfd is registered with IORING_REGISTER_EVENTFD on the ring's fd. The façade
/// does not expose that fd, so it is found by comparing the io_uring fds in /proc/self/fd
/// before and after the ring is created. Scripting rings are created and closed under one lock,
/// so two of them cannot be confused; an io_uring created or closed concurrently by other code in
/// the process (not through this class) could be, and creation then fails rather than guess.</para>
/// </remarks>
internal sealed unsafe class ScriptRing
{
    private const int MaxMessages = 4096;
    private static readonly object s_createLock = new();

    private readonly object _gate = new();
    private readonly Dictionary<ulong, PendingOperation> _inFlight = new();
    private readonly Dictionary<ulong, string> _messages = new();
    private readonly Dictionary<ulong, ProvidedBuffer> _leases = new();
    private readonly Dictionary<ulong, StatxResult> _statx = new();
    private Completion[] _queue = new Completion[1024];
    private int _head;
    private int _count;
    private int _eventFd;
    private bool _closed;

    private ScriptRing(Ring ring, int eventFd, int ringFd)
    {
        Ring = ring;
        _eventFd = eventFd;
        RingFd = ringFd;
    }

    internal Ring Ring { get; }

    /// <summary>The ring's id in <see cref="HandleTable"/> (for the 32-bit entry points).</summary>
    internal int Id { get; set; }

    // The caller's completion array for ReapInto (registered once; the caller keeps it alive).
    private Completion* _reapBuffer;
    private int _reapCapacity;

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

    internal int RingFd { get; }

    internal int InFlight
    {
        get { lock (_gate) return _inFlight.Count; }
    }

    internal bool IsClosed => _closed;

    /// <summary>The façade ring, unless closed.</summary>
    internal Ring Open() => _closed ? throw new RingDisposedException("The ring was closed.") : Ring;

    internal static ScriptRing Create(RingOptions options)
    {
        options.Threading = RingThreading.CallerThread;
        lock (s_createLock)
        {
            var before = IoUringFds();
            var ring = new Ring(options);
            try
            {
                var created = IoUringFds();
                created.ExceptWith(before);
                if (created.Count != 1)
                    throw new InvalidOperationException(
                        $"Could not identify the new ring's fd in /proc/self/fd ({created.Count} new io_uring fds appeared); another io_uring was created concurrently.");
                var ringFd = created.First();
                var eventFd = Native.eventfd(0, Native.EFD_CLOEXEC | Native.EFD_NONBLOCK);
                if (eventFd < 0)
                    throw new UringIOException(Marshal.GetLastPInvokeError(), "eventfd");
                var r = Liburing.io_uring_register((uint)ringFd, (uint)io_uring_register_op.IORING_REGISTER_EVENTFD, &eventFd, 1);
                if (r < 0)
                {
                    Native.close(eventFd);
                    throw new UringIOException(-r, "io_uring_register(IORING_REGISTER_EVENTFD)");
                }
                return new ScriptRing(ring, eventFd, ringFd);
            }
            catch
            {
                ring.Dispose();
                throw;
            }
        }
    }

    private static HashSet<int> IoUringFds()
    {
        var fds = new HashSet<int>();
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(entry).LinkTarget == "anon_inode:[io_uring]" && int.TryParse(Path.GetFileName(entry), out var fd))
                    fds.Add(fd);
            }
            catch (IOException)
            {
                // closed meanwhile (the enumeration's own directory fd, for one)
            }
        }
        return fds;
    }

    // ---------------------------------------------------------------- operations

    /// <summary>Throws if <paramref name="token"/> names an operation still in flight (checked before submitting).</summary>
    internal void CheckToken(ulong token)
    {
        lock (_gate)
        {
            if (_closed)
                throw new RingDisposedException("The ring was closed.");
            if (_inFlight.ContainsKey(token))
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
    internal void Deliver(ulong token, int result, ErrorKind status, PendingOperation? pending)
    {
        lock (_gate)
        {
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
            slot.Status = (uint)status;
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

    /// <summary>Keeps the buffer a provided-buffer recv completed with, until the script releases it.</summary>
    internal void StoreLease(ulong token, ProvidedBuffer lease)
    {
        lock (_gate)
        {
            if (_leases.Remove(token, out var old))
                old.Dispose();
            _leases[token] = lease;
        }
    }

    internal ProvidedBuffer Lease(ulong token)
    {
        lock (_gate)
            return _leases.TryGetValue(token, out var lease) ? lease : throw new ArgumentException($"No received buffer is held for token {token} (released already?).", nameof(token));
    }

    internal void ReleaseLease(ulong token)
    {
        ProvidedBuffer lease;
        lock (_gate)
        {
            if (!_leases.Remove(token, out lease))
                return;
        }
        lease.Dispose();
    }

    internal void StoreStatx(ulong token, StatxResult result)
    {
        lock (_gate)
        {
            if (_statx.Count >= MaxMessages)
                _statx.Clear(); // nobody took them: do not grow without bound
            _statx[token] = result;
        }
    }

    internal StatxResult TakeStatx(ulong token)
    {
        lock (_gate)
            return _statx.Remove(token, out var result) ? result : throw new ArgumentException($"No statx result is held for token {token} (taken already?).", nameof(token));
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
            leases = _leases.Values.ToList();
            _leases.Clear();
        }
        foreach (var lease in leases)
            lease.Dispose();
        // Closing frees the ring's fd number; while a scripting ring is being created, that
        // number must not change hands (see Create).
        lock (s_createLock)
            Ring.Dispose();
        lock (_gate)
            _closed = true;
    }

    internal void Free()
    {
        Close();
        if (_eventFd >= 0)
        {
            Native.close(_eventFd);
            _eventFd = -1;
        }
    }
}
