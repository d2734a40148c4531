using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace Uring;

/// <summary>
/// A pooled, reusable completion source: the operation descriptor plus its completion state.
/// The result is computed from the CQE by a static function pointer, so completing allocates
/// nothing. The object goes back to a pool when the result is consumed (<see cref="GetResult"/>);
/// its version changes then, which turns stale futures into <see cref="InvalidOperationException"/>s
/// instead of wrong answers.
/// </summary>
/// <remarks>
/// <para>The completion state is written here rather than taken from
/// <see cref="ManualResetValueTaskSourceCore{TResult}"/> because the common case, an
/// <c>await</c> whose continuation was registered before the CQE arrived, then costs no
/// interlocked instruction and no memory fence on the loop thread: the continuation slot is
/// read, found set, and called. The slot is only compare-exchanged when it was still empty,
/// which is also what orders a completion against a synchronous waiter
/// (<see cref="WaitCompleted"/>). Two kinds of continuation share the slot: an
/// <see cref="Action"/> (<see cref="CancelableFuture{T}"/>'s own awaiters) and an
/// <see cref="Action{T}"/> with state (<see cref="IValueTaskSource{TResult}"/>, for
/// <see cref="ValueTask{TResult}"/> and <see cref="Task{TResult}"/> consumers).</para>
/// </remarks>
internal sealed unsafe class Operation<T> : Operation, IValueTaskSource<T>, IThreadPoolWorkItem
{
    private const int MaxPooled = 4096;
    private static readonly Stack<Operation<T>> s_pool = new();

    /// <summary>This type's slot in a ring's per-type operation caches.</summary>
    internal static readonly int CacheIndex = NextCacheIndex();

    // Stands in the continuation slot when the operation completed before anyone registered.
    private static readonly object s_completedFirst = new();

    private object? _continuation;          // null, s_completedFirst, Action or Action<object?>
    private object? _continuationState;    // for an Action<object?>
    private ExecutionContext? _executionContext;
    private object? _schedulingContext;    // SynchronizationContext or TaskScheduler
    private bool _asyncContinuations;
    private int _completed;                // 0/1, volatile
    private short _version;
    private T _result = default!;
    private ExceptionDispatchInfo? _error;
    private delegate*<Operation, T> _produce;
    private ManualResetEventSlim? _event;
    private int _hasWaiter;

    internal override short Version => _version;

    internal static Operation<T> Rent(Ring ring, Bindings.io_uring_op opcode, delegate*<Operation, T> produce, bool asyncContinuations, bool onOwnerThread)
    {
        var op = onOwnerThread ? ring.TakeCachedOperation<T>() : null;
        if (op is null)
        {
            lock (s_pool)
                s_pool.TryPop(out op);
            op ??= new Operation<T>();
        }
        op.Ring = ring;
        op.Opcode = opcode;
        op._produce = produce;
        op._asyncContinuations = asyncContinuations;
        op.StartVersion = op._version;
        return op;
    }

    internal override void Complete(int res, uint cqeFlags)
    {
        Res = res;
        CqeFlags = cqeFlags;
        Volatile.Write(ref Stage, StageCompleted);
        if (Token.CanBeCanceled)
            Registration.Unregister();
        FreePath();

        T value = default!;
        Exception? error = null;
        if (res < 0 && !ProduceHandlesErrors)
        {
            error = Ring.MapError(this, res);
            ReleaseBuffers();
        }
        else
        {
            ReturnBuffers();
            try
            {
                value = _produce(this);
            }
            catch (Exception e)
            {
                error = e;
            }
        }
        Signal(value, error);
    }

    internal override void FailLocally(Exception error)
    {
        Volatile.Write(ref Stage, StageCompleted);
        if (Token.CanBeCanceled)
            Registration.Unregister();
        FreePath();
        ReleaseBuffers();
        Signal(default!, error);
    }

    private void Signal(T value, Exception? error)
    {
        _result = value;
        if (error is not null)
            _error = ExceptionDispatchInfo.Capture(error);
        // An await registered before the CQE (the usual case) is found without an interlocked
        // instruction. Otherwise the exchange decides who runs the continuation: a registration
        // that comes later finds s_completedFirst and schedules it itself.
        var continuation = Volatile.Read(ref _continuation) ?? Interlocked.CompareExchange(ref _continuation, s_completedFirst, null);
        if (continuation is not null)
        {
            Volatile.Write(ref _completed, 1);
            Dispatch();
            return;
        }
        // Not awaited: perhaps a synchronous waiter. Publishing the completion lets it consume the
        // result and recycle this object at once, so the exchange above had to come first (or it
        // could mark the next operation that reuses this object as completed). The full fence
        // pairs with WaitCompleted's: either the waiter sees the completion, or this sees the
        // waiter. Reading the waiter fields of an object already reused only risks a spurious wake.
        Interlocked.Exchange(ref _completed, 1);
        if (Volatile.Read(ref _hasWaiter) != 0)
            _event?.Set();
    }

    /// <summary>Runs the continuation where it asked to run: its captured context, the thread
    /// pool (asynchronous continuations), or here under its execution context.</summary>
    private void Dispatch()
    {
        switch (_schedulingContext)
        {
            case SynchronizationContext context:
                context.Post(static state => ((Operation<T>)state!).InvokeUnderExecutionContext(), this);
                return;
            case TaskScheduler scheduler:
                Task.Factory.StartNew(static state => ((Operation<T>)state!).InvokeUnderExecutionContext(), this,
                    CancellationToken.None, TaskCreationOptions.DenyChildAttach, scheduler);
                return;
        }
        if (_asyncContinuations)
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        else
            InvokeUnderExecutionContext();
    }

    void IThreadPoolWorkItem.Execute() => InvokeUnderExecutionContext();

    private void InvokeUnderExecutionContext()
    {
        var context = _executionContext;
        if (context is null)
            Invoke();
        else
            ExecutionContext.Run(context, static state => ((Operation<T>)state!).Invoke(), this);
    }

    private void Invoke()
    {
        var continuation = _continuation;
        if (continuation is Action action)
            action();
        else
            ((Action<object?>)continuation!)(_continuationState);
    }

    /// <summary>Registers an <c>await</c> continuation (<see cref="CancelableFuture{T}"/>'s awaiters).</summary>
    internal void OnCompleted(Action continuation, short token, bool flowExecutionContext, bool continueOnCapturedContext)
    {
        CheckToken(token);
        CheckNotAwaited();
        if (flowExecutionContext)
            _executionContext = ExecutionContext.Capture();
        if (continueOnCapturedContext)
            _schedulingContext = CaptureSchedulingContext();
        Register(continuation);
    }

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        CheckToken(token);
        CheckNotAwaited();
        if ((flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0)
            _executionContext = ExecutionContext.Capture();
        if ((flags & ValueTaskSourceOnCompletedFlags.UseSchedulingContext) != 0)
            _schedulingContext = CaptureSchedulingContext();
        _continuationState = state;
        Register(continuation);
    }

    private static object? CaptureSchedulingContext()
    {
        var context = SynchronizationContext.Current;
        if (context is not null && context.GetType() != typeof(SynchronizationContext))
            return context;
        var scheduler = TaskScheduler.Current;
        return scheduler == TaskScheduler.Default ? null : scheduler;
    }

    private void Register(object continuation)
    {
        object? previous;
        if (SubmittedByOwner && Ring.IsOnOwnerStack)
        {
            // Submitted on the owner thread, an operation completes only there (its CQE, a local
            // failure while the owner prepares it, or shutdown). Registering on that thread,
            // outside its completion, nothing can race: a plain store will do. (Not so for a
            // chain member whose future was handed out before another thread submitted or
            // disposed the chain: that thread may fail it.)
            previous = _continuation;
            if (previous is null)
            {
                _continuation = continuation;
                return;
            }
        }
        else
        {
            previous = Interlocked.CompareExchange(ref _continuation, continuation, null);
            if (previous is null)
                return;
        }
        if (!ReferenceEquals(previous, s_completedFirst))
            throw AlreadyAwaited();
        // Completed in the meantime. Run it on the thread pool rather than here, which could
        // dive deep into the stack of whoever is registering. The completing thread publishes
        // _completed right after its exchange; the continuation will read it.
        var spinner = new SpinWait();
        while (Volatile.Read(ref _completed) == 0)
            spinner.SpinOnce();
        _continuation = continuation;
        if (_schedulingContext is not null)
            Dispatch();
        else
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
    }

    // Before a second registration overwrites the first one's contexts (Register checks again, atomically).
    private void CheckNotAwaited()
    {
        if (Volatile.Read(ref _continuation) is { } registered && !ReferenceEquals(registered, s_completedFirst))
            throw AlreadyAwaited();
    }

    private static InvalidOperationException AlreadyAwaited() =>
        new("This CancelableFuture is already awaited: a future's result can be awaited once.");

    private void CheckToken(short token)
    {
        if (token != _version)
            throw Consumed();
    }

    private static InvalidOperationException Consumed() =>
        new("This CancelableFuture's result was already consumed (a future's result can be read or awaited once).");

    internal bool IsCompleted(short token)
    {
        CheckToken(token);
        return Volatile.Read(ref _completed) != 0;
    }

    /// <summary>Blocks until completion or timeout; on the ring's owner thread it drives the ring instead of blocking.</summary>
    internal bool WaitCompleted(short token, int timeoutMs)
    {
        if (IsCompleted(token))
            return true;
        if (Ring.IsOwnerThread)
            return Ring.DriveUntilCompleted(this, token, timeoutMs);

        var ev = _event;
        if (ev is null)
        {
            var created = new ManualResetEventSlim(false, 0);
            ev = Interlocked.CompareExchange(ref _event, created, null) ?? created;
            if (!ReferenceEquals(ev, created))
                created.Dispose();
        }
        // Full fence, paired with the completion's exchange: either it sees the flag, or this sees the result.
        Interlocked.Exchange(ref _hasWaiter, 1);
        var deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        while (true)
        {
            if (IsCompleted(token))
                return true;
            var remaining = timeoutMs < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
            if (remaining == 0)
                return IsCompleted(token);
            // Bounded slices: a completion whose await continuation was already registered does not
            // fence before reading the flag (waiting on a future that is also awaited is a misuse,
            // but it must not hang).
            if (ev.Wait(remaining < 0 || remaining > 100 ? 100 : remaining))
                ev.Reset();
        }
    }

    public T GetResult(short token)
    {
        if (token != _version || Volatile.Read(ref _completed) == 0)
            throw token != _version ? Consumed() : new InvalidOperationException("The operation has not completed yet; await the future or Wait() for it first.");
        var result = _result;
        var error = _error;
        Recycle();
        error?.Throw();
        return result;
    }

    public ValueTaskSourceStatus GetStatus(short token)
    {
        CheckToken(token);
        if (Volatile.Read(ref _completed) == 0)
            return ValueTaskSourceStatus.Pending;
        var error = _error;
        return error is null ? ValueTaskSourceStatus.Succeeded :
            error.SourceException is OperationCanceledException ? ValueTaskSourceStatus.Canceled : ValueTaskSourceStatus.Faulted;
    }

    private void Recycle()
    {
        var cached = Ring is { } ring && ring.TryCacheOperation(this); // (the cache is the owner thread's: nobody rents before we return)
        ClearDescriptor();
        _produce = null;
        _continuation = null;
        _continuationState = null;
        _executionContext = null;
        _schedulingContext = null;
        _result = default!;
        _error = null;
        _completed = 0;
        _version++;
        Volatile.Write(ref _hasWaiter, 0);
        _event?.Reset();
        if (cached)
            return;
        lock (s_pool)
        {
            if (s_pool.Count < MaxPooled)
                s_pool.Push(this);
        }
    }
}
