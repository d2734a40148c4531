using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace Uring;

/// <summary>
/// The completion state of an operation whose result is a <typeparamref name="T"/>: a pooled,
/// reusable completion source. Each operation kind derives from it (through
/// <see cref="PooledOperation{TSelf, T}"/>) and computes its result in <see cref="Produce"/>, so
/// completing allocates nothing. The object goes back to its kind's pool when the result is
/// consumed (<see cref="GetResult(long)"/>); its 64-bit version changes then, which turns stale
/// futures into <see cref="InvalidOperationException"/>s instead of wrong answers, however often
/// the object is reused.
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
internal abstract unsafe class Operation<T> : Operation, IValueTaskSource<T>, IThreadPoolWorkItem
{
    // Stands in the continuation slot when the operation completed before anyone registered.
    private static readonly object s_completedFirst = new();

    private object? _continuation;          // null, s_completedFirst, Action or Action<object?>
    private object? _continuationState;    // for an Action<object?>
    private ExecutionContext? _executionContext;
    private object? _schedulingContext;    // SynchronizationContext or TaskScheduler
    private bool _asyncContinuations;
    private int _completed;                // 0/1, volatile
    private long _version;                 // CancelableFuture tokens; never wraps in practice
    private bool _awaitClaimed;           // an awaiter was handed out for this version (see TryClaimAwait)
    private T _result = default!;
    private ExceptionDispatchInfo? _error;
    private ManualResetEventSlim? _event;
    private int _hasWaiter;

    internal override long Version => _version;

    /// <summary>The result, computed from <see cref="Operation.Res"/>, <see cref="Operation.CqeFlags"/>,
    /// the scratch memory and the kind's fields once the kernel is done (owner thread).</summary>
    protected abstract T Produce();

    /// <summary>Clears the kind's own fields before the object is pooled.</summary>
    protected abstract void ClearFields();

    /// <summary>Puts the cleared object back into its kind's pool (or <paramref name="ring"/>'s owner-thread cache).</summary>
    protected abstract void ReturnToPool(Ring? ring);

    /// <summary>Binds a fresh or pooled object to a ring and an opcode (see <see cref="PooledOperation{TSelf, T}"/>).</summary>
    protected void Bind(Ring ring, Bindings.io_uring_op opcode)
    {
        Ring = ring;
        Opcode = opcode;
        _asyncContinuations = ring.ContinuationsRunAsynchronously;
        StartVersion = _version;
    }

    internal override void Complete(int res, uint cqeFlags)
    {
        Res = res;
        CqeFlags = cqeFlags;
        Volatile.Write(ref Stage, StageCompleted);
        if (Token.CanBeCanceled)
            Registration.Unregister();

        T value = default!;
        Exception? error = null;
        if (res < 0 && !ProduceHandlesErrors)
        {
            error = Ring.MapError(this, res);
            GiveBack(success: false);
        }
        else
        {
            GiveBack(success: true);
            try
            {
                value = Produce();
            }
            catch (Exception e)
            {
                error = e;
            }
        }
        Signal(value, error);
    }

    /// <summary>Ends an operation nobody holds a future for yet (its creation or start failed) and recycles it.</summary>
    internal void Discard()
    {
        Abort(new InvalidOperationException("not started"));
        try
        {
            GetResult(_version);
        }
        catch (InvalidOperationException)
        {
        }
    }

    internal override void FailLocally(Exception error)
    {
        Volatile.Write(ref Stage, StageCompleted);
        if (Token.CanBeCanceled)
            Registration.Unregister();
        GiveBack(success: false);
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
        if (_schedulingContext is null && !_asyncContinuations)
        {
            InvokeUnderExecutionContext(); // the common case: inline, where the CQE was reaped
            return;
        }
        DispatchElsewhere();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void DispatchElsewhere()
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
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
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


    /// <summary>
    /// Gives the right to await this version to the first awaiter that asks. A second awaiter of
    /// the same pending future gets false and is built so that its <c>GetResult</c> throws in the
    /// awaiting method: an exception it can catch, rather than one thrown inside the async
    /// machinery (which would end the process).
    /// </summary>
    internal bool TryClaimAwait(long token)
    {
        if (token != _version)
            return true; // stale: IsCompleted/GetResult report it
        if (_awaitClaimed)
            return false;
        _awaitClaimed = true;
        return true;
    }

    /// <summary>Registers an <c>await</c> continuation (<see cref="CancelableFuture{T}"/>'s awaiters). Never throws:
    /// a continuation that cannot be registered is run on the thread pool, where its GetResult reports why.</summary>
    internal void OnCompleted(Action continuation, long token, bool flowExecutionContext, bool continueOnCapturedContext)
    {
        var executionContext = flowExecutionContext ? ExecutionContext.Capture() : null;
        if (token != _version || IsAwaitedByAnother())
        {
            Refuse(continuation, null, executionContext);
            return;
        }
        if (executionContext is not null)
            _executionContext = executionContext; // (null since the object was recycled)
        if (continueOnCapturedContext)
            _schedulingContext = CaptureSchedulingContext();
        Register(continuation, null);
    }

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        var executionContext = (flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0 ? ExecutionContext.Capture() : null;
        if (token != (short)_version || IsAwaitedByAnother())
        {
            Refuse(continuation, state, executionContext);
            return;
        }
        _executionContext = executionContext;
        if ((flags & ValueTaskSourceOnCompletedFlags.UseSchedulingContext) != 0)
            _schedulingContext = CaptureSchedulingContext();
        _continuationState = state;
        Register(continuation, state);
    }

    private static object? CaptureSchedulingContext()
    {
        var context = SynchronizationContext.Current;
        if (context is not null && context.GetType() != typeof(SynchronizationContext))
            return context;
        var scheduler = TaskScheduler.Current;
        return scheduler == TaskScheduler.Default ? null : scheduler;
    }

    private bool IsAwaitedByAnother() =>
        Volatile.Read(ref _continuation) is { } registered && !ReferenceEquals(registered, s_completedFirst);

    private void Register(object continuation, object? state)
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
        {
            // Two awaits raced for one future (the earlier check did not see the other one).
            Refuse(continuation, state, _executionContext);
            return;
        }
        // Completed in the meantime. Run it where a continuation registered in time would have
        // run (the loop thread of a dedicated ring), not here, which could dive deep into the
        // stack of whoever is registering. The completing thread publishes _completed right
        // after its exchange; the continuation will read it.
        var spinner = new SpinWait();
        while (Volatile.Read(ref _completed) == 0)
            spinner.SpinOnce();
        _continuation = continuation;
        if (_schedulingContext is not null)
            Dispatch();
        else if (_asyncContinuations)
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
        else
            Ring.RunOnLoopThread(this);
    }

    /// <summary>
    /// A continuation this object will not hold (a second await, or an await of a consumed
    /// future) runs on the thread pool at once; its GetResult then throws
    /// <see cref="InvalidOperationException"/> in the awaiting code. Throwing here instead would
    /// happen inside the async method builder, which rethrows on the thread pool and ends the process.
    /// </summary>
    private static void Refuse(object continuation, object? state, ExecutionContext? executionContext) =>
        ThreadPool.UnsafeQueueUserWorkItem(new RefusedContinuation(continuation, state, executionContext), preferLocal: false);

    private sealed class RefusedContinuation(object continuation, object? state, ExecutionContext? executionContext) : IThreadPoolWorkItem
    {
        public void Execute()
        {
            if (executionContext is null)
                Run();
            else
                ExecutionContext.Run(executionContext, static s => ((RefusedContinuation)s!).Run(), this);
        }

        private void Run()
        {
            if (continuation is Action action)
                action();
            else
                ((Action<object?>)continuation)(state);
        }
    }

    internal static InvalidOperationException AlreadyAwaited() =>
        new("This CancelableFuture is already awaited: a future's result can be awaited once.");

    private void CheckToken(long token)
    {
        if (token != _version)
            throw Consumed();
    }

    private static InvalidOperationException Consumed() =>
        new("This CancelableFuture's result was already consumed (a future's result can be read or awaited once).");

    internal bool IsCompleted(long token)
    {
        CheckToken(token);
        return Volatile.Read(ref _completed) != 0;
    }

    /// <summary>Blocks until completion or timeout; on the ring's owner thread it drives the ring instead of blocking.</summary>
    internal bool WaitCompleted(long token, int timeoutMs)
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

    public T GetResult(long token)
    {
        if (token != _version || Volatile.Read(ref _completed) == 0)
            throw token != _version ? Consumed() : NotCompleted();
        var result = _result;
        var error = _error;
        Recycle();
        error?.Throw();
        return result;
    }

    private static InvalidOperationException NotCompleted() =>
        new("The operation has not completed yet; await the future or Wait() for it first (or it is awaited twice).");

    // ValueTask's token is 16 bits: a ValueTask follows ValueTask's rules (used once, never after its result).
    T IValueTaskSource<T>.GetResult(short token) => GetResult((short)_version == token ? _version : _version - 1);

    /// <summary>The state without consuming anything (for display and ValueTask).</summary>
    internal ValueTaskSourceStatus Status(long token)
    {
        CheckToken(token);
        if (Volatile.Read(ref _completed) == 0)
            return ValueTaskSourceStatus.Pending;
        var error = _error;
        return error is null ? ValueTaskSourceStatus.Succeeded :
            error.SourceException is OperationCanceledException ? ValueTaskSourceStatus.Canceled : ValueTaskSourceStatus.Faulted;
    }

    /// <summary>The status for a future's token, never throwing (a consumed future says so).</summary>
    internal FutureStatus StatusOf(long token)
    {
        if (token != _version)
            return FutureStatus.Consumed;
        if (Volatile.Read(ref _completed) == 0)
            return FutureStatus.Pending;
        var error = _error;
        if (token != _version)
            return FutureStatus.Consumed;
        return error is null ? FutureStatus.Succeeded :
            error.SourceException is OperationCanceledException ? FutureStatus.Canceled : FutureStatus.Faulted;
    }

    ValueTaskSourceStatus IValueTaskSource<T>.GetStatus(short token) => Status((short)_version == token ? _version : _version - 1);

    private void Recycle()
    {
        var ring = Ring;
        ClearCommon();
        ClearFields();
        _continuation = null;
        _continuationState = null;
        _executionContext = null;
        _schedulingContext = null;
        _result = default!;
        _error = null;
        _completed = 0;
        _awaitClaimed = false;
        _version++;
        Volatile.Write(ref _hasWaiter, 0);
        _event?.Reset();
        ReturnToPool(ring);
    }
}
