using System.Threading.Tasks.Sources;

namespace Uring;

/// <summary>
/// A pooled, reusable completion source: <see cref="ManualResetValueTaskSourceCore{TResult}"/>
/// plus the operation descriptor. The result is computed from the CQE by a static function
/// pointer, so completing allocates nothing. The object goes back to its pool when the
/// result is consumed (<see cref="GetResult"/>); its version changes then, which turns stale
/// futures into <see cref="InvalidOperationException"/>s instead of wrong answers.
/// </summary>
internal sealed unsafe class Operation<T> : Operation, IValueTaskSource<T>
{
    private const int MaxPooled = 4096;
    private const int ThreadCacheSize = 64;
    private static readonly Stack<Operation<T>> s_pool = new();

    // Most operations are started and consumed on the same thread (the ring's loop thread, in
    // continuations): a small per-thread cache avoids the shared pool's lock on that path.
    // One thread static (one TLS lookup) holding both the items and their count.
    [ThreadStatic] private static ThreadCache? t_cache;

    private sealed class ThreadCache
    {
        public readonly Operation<T>?[] Items = new Operation<T>?[ThreadCacheSize];
        public int Count;
    }

    private ManualResetValueTaskSourceCore<T> _core;
    private delegate*<Operation, T> _produce;
    private ManualResetEventSlim? _event;
    private int _hasWaiter;

    internal override short Version => _core.Version;

    internal static Operation<T> Rent(Ring ring, Bindings.io_uring_op opcode, delegate*<Operation, T> produce, bool asyncContinuations)
    {
        Operation<T>? op = null;
        var cache = t_cache;
        if (cache is not null && cache.Count > 0)
        {
            var index = --cache.Count;
            op = cache.Items[index]!;
            cache.Items[index] = null;
        }
        else
        {
            lock (s_pool)
                s_pool.TryPop(out op);
            op ??= new Operation<T>();
        }
        op.Ring = ring;
        op.Opcode = opcode;
        op._produce = produce;
        op._core.RunContinuationsAsynchronously = asyncContinuations;
        op.StartVersion = op._core.Version;
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
        if (error is null)
            _core.SetResult(value);
        else
            _core.SetException(error);
        // Pairs with the full fence in WaitCompleted: either the waiter sees the result, or we see the waiter.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _hasWaiter) != 0)
            _event?.Set();
    }

    internal bool IsCompleted(short token) => _core.GetStatus(token) != ValueTaskSourceStatus.Pending;

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
        Interlocked.Exchange(ref _hasWaiter, 1);
        var deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        while (true)
        {
            if (IsCompleted(token))
                return true;
            var remaining = timeoutMs < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
            if (!ev.Wait(remaining))
                return IsCompleted(token);
            ev.Reset();
        }
    }

    public T GetResult(short token)
    {
        if (token != _core.Version || _core.GetStatus(token) == ValueTaskSourceStatus.Pending)
            return _core.GetResult(token); // throws the right InvalidOperationException
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            Recycle();
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private void Recycle()
    {
        ClearDescriptor();
        _produce = null;
        _core.Reset();
        Volatile.Write(ref _hasWaiter, 0);
        _event?.Reset();
        var cache = t_cache ??= new ThreadCache();
        if (cache.Count < ThreadCacheSize)
        {
            cache.Items[cache.Count++] = this;
            return;
        }
        lock (s_pool)
        {
            if (s_pool.Count < MaxPooled)
                s_pool.Push(this);
        }
    }
}
