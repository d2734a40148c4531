using Uring.Bindings;

namespace Uring;

/// <summary>
/// A multishot accept (<see cref="Ring.AcceptMultishot"/>) that survives running out of file
/// descriptors or memory: when the kernel ends the request with EMFILE, ENFILE, ENOBUFS or ENOMEM,
/// the enumeration pauses instead of ending, waits out a back-off on a ring timeout, and re-arms.
/// Created by <see cref="Ring.AcceptMultishotResilient"/>.
/// </summary>
/// <remarks>
/// <para><b>Pausing.</b> While paused, clients wait in the listen backlog; the stream opens no
/// descriptor, starts no thread and allocates nothing per retry beyond the pooled timeout
/// operation — the back-off is an IORING_OP_TIMEOUT on the same ring, because starting a .NET
/// thread (a thread-pool timer, <c>Task.Run</c>) itself needs a descriptor. The back-off starts at
/// <see cref="AcceptBackoff.Initial"/> and doubles after every wait up to
/// <see cref="AcceptBackoff.Maximum"/>; an accepted connection resets it. Call
/// <see cref="RetryNow"/> when a descriptor has become free (a connection closed) to cut the
/// current wait short.</para>
/// <para><b>Ending.</b> As <see cref="Ring.AcceptMultishot"/>: normally when the listening socket
/// is shut down or the consumer leaves the loop; with <see cref="OperationCanceledException"/> when
/// the enumerator's token is cancelled (also during a back-off, which is then cancelled in the
/// kernel); with <see cref="RingDisposedException"/> when the ring is disposed; with
/// <see cref="UringIOException"/> for any other error.</para>
/// <para><b>Notifications.</b> <see cref="Paused"/> is raised once when a pause begins,
/// <see cref="RetryFailed"/> for every later attempt of the same pause that fails again, and
/// <see cref="Resumed"/> when the pause ends with an accepted connection. Handlers run on the
/// thread that reaps the ring's completions (the ring's loop thread, unless the ring uses
/// <see cref="RingThreading.CallerThread"/>), before the connection concerned is handed to the
/// consumer; keep them short, and do not let them need a new descriptor. An exception thrown by a
/// handler ends the enumeration with that exception.</para>
/// <para>One enumeration at a time: start the next one once the previous has ended.</para>
/// </remarks>
public sealed class ResilientAccept : IAsyncEnumerable<int>
{
    private const int ENOMEM = LinuxErrno.ENOMEM, ENFILE = LinuxErrno.ENFILE, EMFILE = LinuxErrno.EMFILE, ENOBUFS = LinuxErrno.ENOBUFS;

    private readonly Ring _ring;
    private readonly FileDescriptor _listenFd;
    private MultishotAccept? _current;

    internal ResilientAccept(Ring ring, FileDescriptor listenFd, AcceptBackoff? backoff)
    {
        var initial = backoff?.Initial ?? AcceptBackoff.DefaultInitial;
        var maximum = backoff?.Maximum ?? AcceptBackoff.DefaultMaximum;
        if (initial <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(backoff), initial, "The initial back-off must be positive.");
        if (maximum < initial)
            throw new ArgumentOutOfRangeException(nameof(backoff), maximum, "The maximum back-off must be at least the initial one.");
        MultishotAccept.CheckListener(ring, listenFd);
        _ring = ring;
        _listenFd = listenFd;
        InitialBackoff = initial;
        MaximumBackoff = maximum;
    }

    /// <summary>The first wait of a pause.</summary>
    public TimeSpan InitialBackoff { get; }

    /// <summary>The longest wait between two attempts.</summary>
    public TimeSpan MaximumBackoff { get; }

    /// <summary>True while the current enumeration is paused for want of descriptors or memory.</summary>
    public bool IsPaused => Volatile.Read(ref _current)?.IsPaused ?? false;

    /// <summary>Accepting failed for want of descriptors or memory, and pauses (raised once per pause).</summary>
    public event EventHandler<AcceptPauseEventArgs>? Paused;

    /// <summary>An attempt to accept again during a pause failed for the same reason.</summary>
    public event EventHandler<AcceptPauseEventArgs>? RetryFailed;

    /// <summary>A connection was accepted after a pause: accepting has resumed.</summary>
    public event EventHandler<AcceptPauseEventArgs>? Resumed;

    /// <summary>
    /// Ends the current back-off now, so the accept is tried again at once (call it when a
    /// descriptor has become free, e.g. a connection closed). A call that comes while an attempt
    /// is already in the kernel is kept: if that attempt fails, the next one follows at once
    /// instead of after the back-off. Does nothing when accepting is not paused. Any thread; cheap
    /// when there is nothing to do.
    /// </summary>
    public void RetryNow() => Volatile.Read(ref _current)?.RetryNow();

    /// <summary>Starts an enumeration: the first <c>MoveNextAsync</c> arms the multishot accept.</summary>
    /// <param name="cancellationToken">Ends the enumeration with <see cref="OperationCanceledException"/>.</param>
    /// <exception cref="InvalidOperationException">The previous enumeration has not ended.</exception>
    public IAsyncEnumerator<int> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        var stream = MultishotAccept.Create(_ring, _listenFd, this, cancellationToken);
        var previous = Interlocked.Exchange(ref _current, stream);
        if (previous is not null && !previous.IsFinished)
        {
            Interlocked.CompareExchange(ref _current, previous, stream);
            throw new InvalidOperationException("This accept is already being enumerated; dispose that enumerator first.");
        }
        return stream;
    }

    internal static bool IsLackOfResources(int errno) => errno is EMFILE or ENFILE or ENOBUFS or ENOMEM;

    internal Exception? OnPaused(int errno, TimeSpan backoff, int failedAttempts) =>
        Raise(Paused, errno, backoff, TimeSpan.Zero, failedAttempts);

    internal Exception? OnRetryFailed(int errno, TimeSpan backoff, TimeSpan pausedFor, int failedAttempts) =>
        Raise(RetryFailed, errno, backoff, pausedFor, failedAttempts);

    internal Exception? OnResumed(int lastErrno, TimeSpan pausedFor, int failedAttempts) =>
        Raise(Resumed, lastErrno, TimeSpan.Zero, pausedFor, failedAttempts);

    private Exception? Raise(EventHandler<AcceptPauseEventArgs>? handler, int errno, TimeSpan backoff, TimeSpan pausedFor, int failedAttempts)
    {
        if (handler is null)
            return null;
        try
        {
            var error = new UringIOException(errno, io_uring_op.IORING_OP_ACCEPT, "multishot accept");
            handler(this, new AcceptPauseEventArgs(error, backoff, pausedFor, failedAttempts));
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}

/// <summary>The back-off of a <see cref="ResilientAccept"/>: how long it waits between attempts while paused.</summary>
public sealed class AcceptBackoff
{
    internal static readonly TimeSpan DefaultInitial = TimeSpan.FromMilliseconds(10);
    internal static readonly TimeSpan DefaultMaximum = TimeSpan.FromMilliseconds(250);

    /// <summary>The first wait of a pause (positive). Default 10 ms.</summary>
    public TimeSpan Initial { get; set; } = DefaultInitial;

    /// <summary>The longest wait; each wait doubles the next one up to this (at least <see cref="Initial"/>). Default 250 ms.</summary>
    public TimeSpan Maximum { get; set; } = DefaultMaximum;
}

/// <summary>What <see cref="ResilientAccept.Paused"/>, <see cref="ResilientAccept.RetryFailed"/> and <see cref="ResilientAccept.Resumed"/> report.</summary>
public sealed class AcceptPauseEventArgs : EventArgs
{
    internal AcceptPauseEventArgs(UringIOException error, TimeSpan backoff, TimeSpan pausedFor, int failedAttempts)
    {
        Error = error;
        Backoff = backoff;
        PausedFor = pausedFor;
        FailedAttempts = failedAttempts;
    }

    /// <summary>Why accepting failed (EMFILE, ENFILE, ENOBUFS or ENOMEM); for <see cref="ResilientAccept.Resumed"/>, the pause's last failure.</summary>
    public UringIOException Error { get; }

    /// <summary>How long the stream waits before the next attempt (unless <see cref="ResilientAccept.RetryNow"/> cuts it short); zero for <see cref="ResilientAccept.Resumed"/>.</summary>
    public TimeSpan Backoff { get; }

    /// <summary>Time since the pause's first failure (zero for <see cref="ResilientAccept.Paused"/>).</summary>
    public TimeSpan PausedFor { get; }

    /// <summary>Attempts of this pause that failed so far, the first included (1 for <see cref="ResilientAccept.Paused"/>).</summary>
    public int FailedAttempts { get; }
}
