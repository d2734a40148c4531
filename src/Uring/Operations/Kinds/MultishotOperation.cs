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
    WaitForBuffers,
}

/// <summary>
/// A multishot operation consumed as an <see cref="IAsyncEnumerator{T}"/>. Items produced by
/// CQEs are queued until the consumer asks; the operation is re-armed when the kernel ends it
/// (a CQE without IORING_CQE_F_MORE) unless the stream is stopping.
/// </summary>
/// <remarks>
/// Stopping (<see cref="DisposeAsync"/>, the enumerator's token, or the end of the stream)
/// cancels the kernel request, waits for its last CQE, and releases the items nobody consumed
/// (<see cref="Release"/>): no fd or buffer is lost.
/// </remarks>
internal abstract class MultishotStream<T> : MultishotOperation, IAsyncEnumerator<T>, IValueTaskSource<bool>
{
    private readonly Lock _gate = new();
    private readonly Queue<T> _items = new();
    private readonly TaskCompletionSource _quiesced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationToken _token;
    private ManualResetValueTaskSourceCore<bool> _core;
    private CancellationTokenRegistration _registration;
    private T _current = default!;
    private bool _started, _waiting, _armed, _parked, _finished, _stopRequested;
    private Exception? _error, _stopError;

    private readonly FileDescriptor _file;
    private SafeHandle? _fileReference; // a handle stays referenced from the first arming to the end of the stream

    /// <summary>The fd the request is armed on (valid once the stream has begun).</summary>
    protected int Fd { get; private set; }

    protected MultishotStream(Ring ring, io_uring_op opcode, FileDescriptor file, CancellationToken token)
    {
        Ring = ring;
        Opcode = opcode;
        _file = file;
        _token = token;
        _core.RunContinuationsAsynchronously = ring.ContinuationsRunAsynchronously;
    }

    public T Current => _current;

    /// <summary>Times the operation was armed (1 + re-arms).</summary>
    internal int Armings;

    /// <summary>Handles one CQE: delivers items (<see cref="Deliver"/>) and, for the last CQE of an arming, says what comes next.</summary>
    protected abstract MultishotNext OnCompletion(int res, uint flags, bool last, out Exception? error);

    /// <summary>Gives back an item nobody will consume (close an fd, return a buffer).</summary>
    protected abstract void Release(T item);

    /// <summary>Registers <paramref name="resume"/> to run when a buffer is back; false when it should resume at once (one already is).</summary>
    protected virtual bool ParkUntilBuffersReturn(Action resume) => false;

    public ValueTask<bool> MoveNextAsync()
    {
        if (!_started)
            Begin();
        lock (_gate)
        {
            if (_stopError is not null)
                return ValueTask.FromException<bool>(_stopError);
            if (_items.TryDequeue(out var item))
            {
                _current = item;
                return new ValueTask<bool>(true);
            }
            if (_finished)
                return _error is null ? new ValueTask<bool>(false) : ValueTask.FromException<bool>(_error);
            _core.Reset();
            _waiting = true;
            return new ValueTask<bool>(this, _core.Version);
        }
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
        _armed = true;
        Arm();
        if (_token.CanBeCanceled)
            _registration = _token.UnsafeRegister(static s => ((MultishotStream<T>)s!).Stop(new OperationCanceledException("The multishot operation was cancelled.")), this);
    }

    private void Arm()
    {
        Interlocked.Increment(ref Armings);
        Ring.Submit(this);
    }

    /// <summary>Queues an item for the consumer, or hands it over if the consumer is waiting (owner thread).</summary>
    protected void Deliver(T item)
    {
        var release = false;
        var signal = false;
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
            }
        }
        if (release)
            Release(item);
        else if (signal)
            _core.SetResult(true);
    }

    internal override void OnIntermediateCompletion(int res, uint flags) => OnCompletion(res, flags, last: false, out _);

    internal override void Complete(int res, uint cqeFlags)
    {
        Volatile.Write(ref Stage, StageCompleted);
        MultishotNext next;
        Exception? error;
        if (res == -Errno.ECANCELED)
        {
            next = MultishotNext.End;
            error = Ring.IsDisposed && !IsCancelRequested
                ? new RingDisposedException($"{Opcode} (multishot) ended because the ring was disposed.", Opcode)
                : new OperationCanceledException($"{Opcode} (multishot) was cancelled.");
        }
        else
        {
            next = OnCompletion(res, cqeFlags, last: true, out error);
        }

        var rearm = false;
        var park = false;
        lock (_gate)
        {
            _armed = false;
            if (_stopRequested)
            {
                next = MultishotNext.End;
                error = _stopError;
            }
            else if (next != MultishotNext.End && Ring.IsDisposed)
            {
                next = MultishotNext.End;
                error = new RingDisposedException($"{Opcode} (multishot) ended because the ring was disposed.", Opcode);
            }
            if (next == MultishotNext.Rearm)
                rearm = _armed = true;
            else if (next == MultishotNext.WaitForBuffers)
                park = _parked = true;
        }
        if (rearm)
            Arm();
        else if (park)
        {
            if (!ParkUntilBuffersReturn(Resume))
                Resume();
        }
        else
            Finish(error);
    }

    private void Resume()
    {
        lock (_gate)
        {
            if (!_parked)
                return;
            _parked = false;
            if (_stopRequested || _finished)
                return;
            _armed = true;
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
        lock (_gate)
        {
            if (_stopRequested || _finished)
                return;
            _stopRequested = true;
            _stopError = error;
            armed = _armed;
            _parked = false;
        }
        if (!armed)
        {
            Finish(error);
            return;
        }
        try
        {
            Ring.CancelOperation(this, Version);
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
internal sealed unsafe class MultishotAccept : MultishotStream<int>
{
    private const int ECONNABORTED = 103, EINTR = 4, EAGAIN = 11, EINVAL = 22;
    private MultishotAccept(Ring ring, FileDescriptor listenFd, CancellationToken token)
        : base(ring, io_uring_op.IORING_OP_ACCEPT, listenFd, token)
    {
    }

    /// <summary>The stream behind <see cref="Ring.AcceptMultishot"/>; each enumeration arms its own request.</summary>
    internal static IAsyncEnumerable<int> Open(Ring ring, FileDescriptor listenFd)
    {
        listenFd.Check(nameof(listenFd), allowRegistered: false);
        SafeHandle? reference = null;
        byte flags = 0;
        var fd = listenFd.Acquire(ring, ref flags, ref reference, nameof(listenFd));
        try
        {
            // Checked here so that a later EINVAL can only mean that the listener was shut down.
            if (!SocketNative.IsListening(fd))
                throw new ArgumentException($"fd {fd} is not a listening socket.", nameof(listenFd));
            ring.CheckCanStart(io_uring_op.IORING_OP_ACCEPT);
        }
        finally
        {
            FileDescriptor.Release(ref reference);
        }
        return new MultishotEnumerable<int>(ct => new MultishotAccept(ring, listenFd, ct));
    }

    internal override void Prepare(io_uring_sqe* sqe) =>
        Liburing.io_uring_prep_multishot_accept(sqe, Fd, null, null, SocketNative.SOCK_CLOEXEC);

    protected override MultishotNext OnCompletion(int res, uint flags, bool last, out Exception? error)
    {
        error = null;
        if (res >= 0)
        {
            Deliver(res);
            return MultishotNext.Rearm;
        }
        if (res is -ECONNABORTED or -EINTR or -EAGAIN)
            return MultishotNext.Rearm; // one failed handshake does not end the listener
        if (res == -EINVAL && last)
            return MultishotNext.End; // the listener was shut down (it was listening when the stream was created)
        error = new UringIOException(-res, Opcode, "multishot accept");
        return MultishotNext.End;
    }

    protected override void Release(int fd) => LibC.close(fd);
}

/// <summary>IORING_OP_RECV with IORING_RECV_MULTISHOT and a provided buffer ring: one lease per CQE.</summary>
internal sealed unsafe class MultishotReceive : MultishotStream<ProvidedBuffer>
{
    private const int ENOBUFS = 105;
    private readonly BufferRing _buffers;
    private readonly MessageFlags _flags;

    private MultishotReceive(Ring ring, FileDescriptor fd, BufferRing buffers, MessageFlags flags, CancellationToken token)
        : base(ring, io_uring_op.IORING_OP_RECV, fd, token)
    {
        _flags = flags;
        _buffers = buffers;
        SqeFlags = (byte)Constants.IOSQE_BUFFER_SELECT;
    }

    /// <summary>The stream behind <see cref="Ring.ReceiveMultishot"/>; each enumeration arms its own request.</summary>
    internal static IAsyncEnumerable<ProvidedBuffer> Open(Ring ring, FileDescriptor fd, BufferRing bufferRing, MessageFlags flags)
    {
        fd.Check(nameof(fd), allowRegistered: false);
        ring.CheckBufferRing(bufferRing, nameof(bufferRing));
        ring.CheckCanStart(io_uring_op.IORING_OP_RECV);
        return new MultishotEnumerable<ProvidedBuffer>(ct => new MultishotReceive(ring, fd, bufferRing, flags, ct));
    }

    internal override void Prepare(io_uring_sqe* sqe)
    {
        Liburing.io_uring_prep_recv_multishot(sqe, Fd, null, 0, (int)_flags);
        Liburing.io_uring_sqe_set_buf_group(sqe, _buffers.GroupId);
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
            return MultishotNext.WaitForBuffers;
        }
        error = new UringIOException(-res, Opcode, "multishot receive");
        return last ? MultishotNext.End : MultishotNext.Rearm;
    }

    protected override bool ParkUntilBuffersReturn(Action resume) => _buffers.WhenBufferReturned(resume);

    protected override void Release(ProvidedBuffer item) => item.Dispose();
}
