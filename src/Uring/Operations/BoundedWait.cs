using Uring.Bindings;

namespace Uring;

/// <summary>
/// A wait for a <see cref="CancelableFuture{T}"/> with a time limit and/or a token
/// (<see cref="CancelableFuture{T}.WaitAsync(TimeSpan, CancellationToken)"/>,
/// <see cref="CancelableFuture{T}.TimeoutAfter"/>). When the limit or the token comes first it
/// intervenes, in one of two ways:
/// <list type="bullet">
/// <item><b>abandon</b> (WaitAsync): the task fails at once; the operation goes on in the kernel,
/// its buffers are released at its CQE (nobody will take them back), and what it produces then is
/// released too (a provided-buffer lease goes back to its ring, a new fd is closed);</item>
/// <item><b>cancel</b> (TimeoutAfter): IORING_OP_ASYNC_CANCEL, and the task completes only with the
/// operation's CQE — <see cref="TimeoutException"/> or <see cref="OperationCanceledException"/>
/// if the cancel won, the real result if the operation finished first.</item>
/// </list>
/// </summary>
/// <remarks>
/// Completion and intervention race; a compare-exchange on <see cref="_state"/> picks the winner.
/// The loser of an intervention waits for it to finish before consuming the future: consuming
/// recycles the operation object, which the intervention still uses (to cancel it, or to reach
/// its buffers).
/// </remarks>
internal sealed class BoundedWait<T> : TaskCompletionSource<T>
{
    private const int Pending = 0, Completing = 1, Intervened = 2;

    private readonly CancelableFuture<T> _future;
    private readonly Operation<T> _operation;
    private readonly bool _cancelInKernel;
    private readonly TimeSpan _timeout;
    private readonly io_uring_op _opcode;
    private readonly CancellationToken _token;
    private CancelableFuture<T>.Awaiter _awaiter;
    private int _state;
    private int _interventionDone;
    private int _releasedMask;
    private bool _byTimeout;
    private Timer? _timer;
    private CancellationTokenRegistration _registration;

    private BoundedWait(CancelableFuture<T> future, Operation<T> operation, TimeSpan timeout, CancellationToken token, bool cancelInKernel)
    {
        _future = future;
        _operation = operation;
        _timeout = timeout;
        _token = token;
        _cancelInKernel = cancelInKernel;
        _opcode = operation.Opcode;
    }

    internal static Task<T> Start(CancelableFuture<T> future, Operation<T> operation, long version, TimeSpan timeout, CancellationToken token, bool cancelInKernel)
    {
        if (timeout != Timeout.InfiniteTimeSpan && (timeout < TimeSpan.Zero || timeout.TotalMilliseconds > uint.MaxValue - 1))
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "A timeout is between zero and 49 days, or Timeout.InfiniteTimeSpan.");
        var wait = new BoundedWait<T>(future, operation, timeout, token, cancelInKernel);
        // Claims the await (a future is awaited once) and throws InvalidOperationException for a consumed future.
        wait._awaiter = new CancelableFuture<T>.Awaiter(operation, version, continueOnCapturedContext: false);
        if (wait._awaiter.IsCompleted)
        {
            wait.Deliver(); // done already (or awaited elsewhere: GetResult says so)
            return wait.Task;
        }
        if (token.IsCancellationRequested)
            wait.Intervene(byTimeout: false);
        else if (timeout == TimeSpan.Zero)
            wait.Intervene(byTimeout: true);
        else
        {
            if (timeout != Timeout.InfiniteTimeSpan)
                wait._timer = new Timer(static s => ((BoundedWait<T>)s!).Intervene(byTimeout: true), wait, timeout, Timeout.InfiniteTimeSpan);
            if (token.CanBeCanceled)
                wait._registration = token.UnsafeRegister(static s => ((BoundedWait<T>)s!).Intervene(byTimeout: false), wait);
        }
        wait._awaiter.UnsafeOnCompleted(wait.OnOperationCompleted);
        return wait.Task;
    }

    /// <summary>The time limit passed or the token fired (timer or token thread).</summary>
    private void Intervene(bool byTimeout)
    {
        if (Interlocked.CompareExchange(ref _state, Intervened, Pending) != Pending)
            return; // the operation completed first
        _byTimeout = byTimeout;
        if (byTimeout)
            _registration.Unregister();
        else
            _timer?.Dispose();
        try
        {
            if (_cancelInKernel)
                RequestKernelCancel();
            else
                _releasedMask = (_operation as ILendsBuffers)?.ReleaseWhenReturned() ?? 0;
        }
        finally
        {
            Volatile.Write(ref _interventionDone, 1);
        }
        if (!_cancelInKernel)
        {
            if (byTimeout)
                TrySetException(new TimeoutException(
                    $"{_opcode} did not complete within {_timeout}. The wait was abandoned, not the operation: it goes on in the kernel, " +
                    "and its buffers are released when it completes (TimeoutAfter cancels it instead)."));
            else
                TrySetCanceled(_token);
        }
    }

    private void RequestKernelCancel()
    {
        try
        {
            var cancel = _future.Cancel();
            var awaiter = cancel.ConfigureAwait(false).GetAwaiter();
            awaiter.UnsafeOnCompleted(() =>
            {
                try
                {
                    awaiter.GetResult(); // consumed, so its pooled object is recycled; the outcome shows in the operation's CQE
                }
                catch (Exception)
                {
                }
            });
        }
        catch (ObjectDisposedException)
        {
            // the ring is shutting down: it cancels everything itself
        }
    }

    /// <summary>The operation's CQE arrived (the ring's loop thread, or the thread pool).</summary>
    private void OnOperationCompleted()
    {
        if (Interlocked.CompareExchange(ref _state, Completing, Pending) == Pending)
        {
            _timer?.Dispose();
            _registration.Unregister();
            Deliver();
            return;
        }
        var spinner = new SpinWait();
        while (Volatile.Read(ref _interventionDone) == 0)
            spinner.SpinOnce();
        if (_cancelInKernel)
            Deliver();
        else
            ReleaseAbandoned();
    }

    private void Deliver()
    {
        try
        {
            TrySetResult(_awaiter.GetResult());
        }
        catch (OperationCanceledException e) when (_state == Intervened && _cancelInKernel)
        {
            if (_byTimeout)
                TrySetException(new TimeoutException(
                    $"{_opcode} did not complete within {_timeout}: it was cancelled in the kernel, and its buffers were released after its CQE.", e));
            else
                TrySetCanceled(_token);
        }
        catch (OperationCanceledException e)
        {
            TrySetCanceled(e.CancellationToken);
        }
        catch (Exception e)
        {
            TrySetException(e);
        }
    }

    /// <summary>After an abandoned wait: whatever the operation produced goes back or is closed.</summary>
    private void ReleaseAbandoned()
    {
        T value;
        try
        {
            value = _awaiter.GetResult();
        }
        catch (Exception)
        {
            return; // a failed operation's buffers were released by the façade; nothing was produced
        }
        AbandonedResults.Release(value, _opcode, _releasedMask);
    }
}

/// <summary>Releases what an operation produced when nobody will receive it (an abandoned wait).</summary>
internal static class AbandonedResults
{
    /// <param name="value">The result.</param>
    /// <param name="opcode">The operation (an <c>int</c> result is an fd for OPENAT, SOCKET, FIXED_FD_INSTALL).</param>
    /// <param name="alreadyReleased">Bit i: the i-th buffer is released by the façade already.</param>
    internal static void Release<T>(T value, io_uring_op opcode, int alreadyReleased)
    {
        switch (value)
        {
            case BufferResult<OwnershipMemory> single:
                if ((alreadyReleased & 1) == 0)
                    DisposeQuietly(single.Buffer);
                break;
            case BufferResult<OwnershipMemory[]> list:
                DisposeAll(list.Buffer, alreadyReleased);
                break;
            case ReceivedMessage message:
                DisposeAll(message.Buffers, alreadyReleased);
                break;
            case ProvidedBuffer lease:
                lease.Dispose();
                break;
            case AcceptedSocket accepted:
                CloseQuietly(accepted.Fd);
                break;
            case PipeFds pipe:
                CloseQuietly(pipe.ReadFd);
                CloseQuietly(pipe.WriteFd);
                break;
            case int fd when opcode is io_uring_op.IORING_OP_OPENAT or io_uring_op.IORING_OP_SOCKET or io_uring_op.IORING_OP_FIXED_FD_INSTALL:
                CloseQuietly(fd);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    private static void DisposeAll(OwnershipMemory[]? buffers, int alreadyReleased)
    {
        if (buffers is null)
            return;
        for (var i = 0; i < buffers.Length; i++)
            if (i >= 32 || (alreadyReleased & (1 << i)) == 0)
                DisposeQuietly(buffers[i]);
    }

    private static void DisposeQuietly(OwnershipMemory? buffer)
    {
        if (buffer is null || buffer.State != OwnershipState.User)
            return;
        try
        {
            buffer.Dispose();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static void CloseQuietly(int fd)
    {
        if (fd >= 0)
            LibC.close(fd);
    }
}
