using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Uring.Bindings;

namespace Uring;

/// <summary>
/// The pending result of one io_uring operation. Await it (allocation-free: it is a
/// <see cref="ValueTask{TResult}"/> over a pooled source), wait for it synchronously
/// (<see cref="Wait(TimeSpan)"/>, <see cref="Result"/>), or <see cref="Cancel"/> it.
/// </summary>
/// <remarks>
/// <para>Like a <see cref="ValueTask{TResult}"/>, the result may be consumed once (await it,
/// or read <see cref="Result"/>, once). Consuming returns the source to its pool; afterwards
/// every member throws <see cref="InvalidOperationException"/>. Do not await it and wait on it
/// at the same time.</para>
/// <para>The outcome is exactly one of: the result; <see cref="OperationCanceledException"/>
/// (the kernel answered -ECANCELED: the operation was cancelled, a linked predecessor failed,
/// or a linked timeout fired — <see cref="TimeoutException"/> then); a
/// <see cref="UringIOException"/> with errno and opcode; or a <see cref="RingDisposedException"/>
/// when the ring was disposed first. The future completes only when the kernel's CQE for the
/// operation has arrived (or the operation never reached the kernel), so when it has
/// completed, the kernel is done with its buffers.</para>
/// </remarks>
public readonly struct CancelableFuture<T> : ICancelableFuture
{
    private readonly Operation<T> _operation;
    private readonly long _token;

    internal CancelableFuture(Operation<T> operation, long token)
    {
        _operation = operation;
        _token = token;
    }

    /// <summary>The pooled object behind the future (tests check reuse with it).</summary>
    internal object? PooledObject => _operation;

    private Operation<T> Source => _operation ?? throw new InvalidOperationException("This CancelableFuture was default-initialised; it does not belong to an operation.");

    /// <summary>The operation's opcode.</summary>
    /// <exception cref="InvalidOperationException">The result was already consumed (the pooled object may serve another operation now).</exception>
    public io_uring_op Opcode
    {
        get
        {
            var source = Source;
            var opcode = source.Opcode;
            return source.Version == _token ? opcode : throw new InvalidOperationException("This CancelableFuture's result was already consumed; its operation is gone.");
        }
    }

    /// <summary>Where the operation stands, without waiting, consuming or throwing: pending,
    /// succeeded, faulted, cancelled, or consumed (also for a default-initialised future).</summary>
    public FutureStatus Status => _operation is null ? FutureStatus.Consumed : _operation.StatusOf(_token);

    /// <summary>Waits for and consumes the result, as <see cref="Result"/> does; a method, for
    /// hosts that drop exceptions thrown by property getters (PowerShell).</summary>
    public T GetResult() => Result;

    /// <summary>True once the CQE arrived (or the operation ended without reaching the kernel).</summary>
    /// <exception cref="InvalidOperationException">The result was already consumed.</exception>
    public bool IsCompleted => Source.IsCompleted(_token);

    /// <summary>Awaits the result; the continuation runs on the captured
    /// <see cref="SynchronizationContext"/> or <see cref="TaskScheduler"/>, if there is one.</summary>
    public Awaiter GetAwaiter() => new(Source, _token, continueOnCapturedContext: true);

    /// <summary>Configures the await: with <c>false</c> the continuation runs where the operation
    /// completes (inline on the ring's loop thread, unless
    /// <see cref="RingOptions.RunContinuationsAsynchronously"/> is set).</summary>
    public ConfiguredAwaitable ConfigureAwait(bool continueOnCapturedContext) => new(new Awaiter(Source, _token, continueOnCapturedContext));

    /// <summary>The result as a <see cref="ValueTask{TResult}"/> (no allocation). Like every
    /// <see cref="ValueTask{TResult}"/> over a pooled source, it may be awaited once and must not
    /// be used after its result was consumed.</summary>
    public ValueTask<T> AsValueTask() => new(Source, (short)_token);

    /// <summary>The result as a <see cref="Task{TResult}"/> (allocates).</summary>
    public Task<T> AsTask() => AsValueTask().AsTask();

    /// <summary>
    /// Waits until the operation completes or <paramref name="timeout"/> passes; true when it
    /// completed (the result is then available from <see cref="Result"/>). On the ring's owner
    /// thread this drives the ring (submits and reaps) instead of blocking.
    /// </summary>
    public bool Wait(TimeSpan timeout)
    {
        var ms = (long)timeout.TotalMilliseconds;
        if (ms < -1 || ms > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(timeout));
        return Source.WaitCompleted(_token, (int)ms);
    }

    /// <summary>Waits without a time limit.</summary>
    public void Wait() => Source.WaitCompleted(_token, -1);

    /// <summary>Waits for and consumes the result; throws what the operation ended with.</summary>
    public T Result
    {
        get
        {
            var source = Source;
            source.WaitCompleted(_token, -1);
            return source.GetResult(_token);
        }
    }

    /// <summary>
    /// Waits for the result at most <paramref name="timeout"/>, abandoning only the <em>wait</em> when
    /// it passes: the task fails with <see cref="TimeoutException"/> at once, and the operation goes on
    /// in the kernel. Nothing is left in limbo: the operation's buffers stay the kernel's until its
    /// CQE and are then released by the façade (freed, or returned to their pool — your own
    /// <c>Dispose</c> meanwhile is a no-op), a provided-buffer lease it receives goes back to its
    /// ring, and an fd it opens is closed. Use <see cref="TimeoutAfter"/> to cancel the operation instead.
    /// </summary>
    /// <remarks>Consumes the future (like an await). The task's continuations run where the
    /// operation completes (the ring's loop thread) or on the timer's thread.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">A negative timeout other than <see cref="Timeout.InfiniteTimeSpan"/>.</exception>
    public Task<T> WaitAsync(TimeSpan timeout) => WaitAsync(timeout, default);

    /// <summary>Waits for the result until <paramref name="cancellationToken"/> fires, abandoning only the
    /// wait then (<see cref="OperationCanceledException"/>); see <see cref="WaitAsync(TimeSpan)"/>.</summary>
    public Task<T> WaitAsync(CancellationToken cancellationToken) => WaitAsync(Timeout.InfiniteTimeSpan, cancellationToken);

    /// <summary>Waits for the result at most <paramref name="timeout"/> and until <paramref name="cancellationToken"/>
    /// fires, abandoning only the wait; see <see cref="WaitAsync(TimeSpan)"/>.</summary>
    public Task<T> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        BoundedWait<T>.Start(this, Source, _token, timeout, cancellationToken, cancelInKernel: false);

    /// <summary>
    /// Waits for the result, and cancels the operation in the kernel (IORING_OP_ASYNC_CANCEL) when
    /// <paramref name="timeout"/> passes or <paramref name="cancellationToken"/> fires. The task
    /// completes only with the operation's CQE, so when it has completed the kernel is done with the
    /// buffers: with <see cref="TimeoutException"/> (or <see cref="OperationCanceledException"/> for
    /// the token) if the cancel won — the buffers were then released, as for any cancelled
    /// operation — or with the real result if the operation finished first. An operation the kernel
    /// cannot interrupt (a regular file read already running) still completes normally.
    /// </summary>
    /// <remarks>Consumes the future (like an await).</remarks>
    /// <exception cref="ArgumentOutOfRangeException">A negative timeout other than <see cref="Timeout.InfiniteTimeSpan"/>.</exception>
    public Task<T> TimeoutAfter(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        BoundedWait<T>.Start(this, Source, _token, timeout, cancellationToken, cancelInKernel: true);

    /// <summary>
    /// Asks the kernel to cancel this operation (IORING_OP_ASYNC_CANCEL on its user_data) and
    /// returns the kernel's answer. This future still completes only with the operation's own
    /// CQE: cancelled (<see cref="OperationCanceledException"/>), or with its real result when
    /// it completed first.
    /// </summary>
    /// <exception cref="InvalidOperationException">The result was already consumed.</exception>
    public CancelableFuture<CancelOutcome> Cancel()
    {
        var source = Source;
        if (source.Version != _token)
            throw new InvalidOperationException("Cannot cancel: this future's result was already consumed.");
        return source.Ring.CancelOperation(source, _token);
    }

    /// <summary>
    /// The awaiter behind <c>await future</c>. It registers the async method's continuation
    /// with the pooled operation directly (no <see cref="ValueTask{TResult}"/> in between), and
    /// like a <see cref="ValueTask{TResult}"/>'s awaiter it may be used once.
    /// </summary>
    /// <remarks>A second awaiter of the same pending future completes at once and its
    /// <see cref="GetResult"/> throws <see cref="InvalidOperationException"/> (a future is awaited
    /// once); the first awaiter is not disturbed.</remarks>
    public readonly struct Awaiter : ICriticalNotifyCompletion
    {
        private readonly Operation<T> _operation;
        private readonly long _token;
        private readonly bool _continueOnCapturedContext;
        private readonly bool _refused;

        internal Awaiter(Operation<T> operation, long token, bool continueOnCapturedContext)
        {
            _operation = operation;
            _token = token;
            _continueOnCapturedContext = continueOnCapturedContext;
            _refused = !operation.TryClaimAwait(token);
        }

        /// <summary>True once the operation completed.</summary>
        public bool IsCompleted => _refused || _operation.IsCompleted(_token);

        /// <summary>Consumes the result; throws what the operation ended with.</summary>
        public T GetResult() => _refused ? throw Operation<T>.AlreadyAwaited() : _operation.GetResult(_token);

        /// <summary>Schedules the continuation, flowing the execution context.</summary>
        public void OnCompleted(Action continuation)
        {
            ArgumentNullException.ThrowIfNull(continuation);
            _operation.OnCompleted(continuation, _token, flowExecutionContext: true, _continueOnCapturedContext);
        }

        /// <summary>Schedules the continuation without flowing the execution context (async methods flow it themselves).</summary>
        public void UnsafeOnCompleted(Action continuation)
        {
            ArgumentNullException.ThrowIfNull(continuation);
            _operation.OnCompleted(continuation, _token, flowExecutionContext: false, _continueOnCapturedContext);
        }
    }

    /// <summary>What <see cref="ConfigureAwait"/> returns: an awaitable with the chosen context behaviour.</summary>
    public readonly struct ConfiguredAwaitable
    {
        private readonly Awaiter _awaiter;

        internal ConfiguredAwaitable(Awaiter awaiter) => _awaiter = awaiter;

        /// <summary>The awaiter.</summary>
        public Awaiter GetAwaiter() => _awaiter;
    }

    Type ICancelableFuture.ResultType => typeof(T);

    object? ICancelableFuture.GetResult() => Result;

    /// <summary>Lets <c>await</c>-free code pass the future as a <see cref="ValueTask{TResult}"/>.</summary>
    public static implicit operator ValueTask<T>(CancelableFuture<T> future) => future.AsValueTask();

    /// <summary>The pending state, for debugging.</summary>
    public override string ToString() =>
        _operation is null ? "CancelableFuture(default)" :
        _operation.Version != _token ? "CancelableFuture(consumed)" :
        $"CancelableFuture({_operation.Opcode}, {(_operation.Status(_token) == ValueTaskSourceStatus.Pending ? "pending" : "completed")})";
}
