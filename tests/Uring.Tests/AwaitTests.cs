// These tests drive awaiters and synchronous waits by hand on purpose (CancelableFuture is not a Task).
#pragma warning disable xUnit1031

namespace Uring.Tests;

/// <summary>
/// The completion core behind <see cref="CancelableFuture{T}"/>: where continuations run
/// (captured contexts, the loop thread, the thread pool), execution-context flow, registering
/// after completion, misuse, the <see cref="ValueTask{TResult}"/> view's status, and which thread
/// prepares an operation at once.
/// </summary>
public sealed class AwaitTests : IDisposable
{
    private readonly Ring _ring = new();

    public void Dispose() => _ring.Dispose();

    /// <summary>Runs every posted callback on its own new thread, with itself installed there.</summary>
    private sealed class CountingContext : SynchronizationContext
    {
        public int Posts;

        public override void Post(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref Posts);
            new Thread(() =>
            {
                SetSynchronizationContext(this);
                d(state);
            }).Start();
        }
    }

    [Fact]
    public async Task Await_resumes_on_the_captured_SynchronizationContext_and_ConfigureAwait_false_on_the_loop_thread()
    {
        var context = new CountingContext();
        var seen = await Task.Run(async () =>
        {
            SynchronizationContext.SetSynchronizationContext(context);
            try
            {
                // A timeout rather than a NOP: the continuation must be registered before the CQE
                // (long enough that a loaded machine cannot let it fire before the await).
                var future = _ring.Timeout(TimeSpan.FromMilliseconds(300));
                Assert.False(future.IsCompleted);
                var result = await future;
                return (result, SynchronizationContext.Current, _ring.IsOwnerThread);
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(null);
            }
        });
        Assert.True(seen.result); // expired
        Assert.Same(context, seen.Current);
        Assert.False(seen.IsOwnerThread);
        Assert.Equal(1, context.Posts);

        var onLoop = await Task.Run(async () =>
        {
            SynchronizationContext.SetSynchronizationContext(context);
            try
            {
                var future = _ring.Timeout(TimeSpan.FromMilliseconds(300));
                Assert.False(future.IsCompleted);
                await future.ConfigureAwait(false);
                return _ring.IsOwnerThread;
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(null);
            }
        });
        Assert.True(onLoop);
        Assert.Equal(1, context.Posts); // not posted
    }

    [Fact]
    public async Task Await_resumes_on_a_non_default_TaskScheduler()
    {
        var exclusive = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;
        var scheduler = await Task.Factory.StartNew(async () =>
        {
            await _ring.Timeout(TimeSpan.FromMilliseconds(20));
            return TaskScheduler.Current;
        }, CancellationToken.None, TaskCreationOptions.DenyChildAttach, exclusive).Unwrap();
        Assert.Same(exclusive, scheduler);
    }

    private static readonly AsyncLocal<string?> s_flowing = new();

    [Fact]
    public async Task ExecutionContext_flows_through_await_and_OnCompleted_but_not_UnsafeOnCompleted()
    {
        s_flowing.Value = "mine";
        await _ring.Nop().ConfigureAwait(false);
        Assert.Equal("mine", s_flowing.Value); // the async method flowed it

        var safe = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocker = _ring.Timeout(TimeSpan.FromMilliseconds(50));
        var awaiter = blocker.ConfigureAwait(false).GetAwaiter();
        awaiter.OnCompleted(() => safe.SetResult(s_flowing.Value));
        Assert.Equal("mine", await safe.Task);
        Assert.True(awaiter.GetResult()); // the timeout expired

        var unsafeSeen = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        blocker = _ring.Timeout(TimeSpan.FromMilliseconds(50));
        awaiter = blocker.ConfigureAwait(false).GetAwaiter();
        awaiter.UnsafeOnCompleted(() => unsafeSeen.SetResult(s_flowing.Value));
        Assert.Null(await unsafeSeen.Task); // ran on the loop thread, in its own context
        Assert.True(awaiter.GetResult());
        s_flowing.Value = null;
    }

    [Fact]
    public async Task A_continuation_registered_after_completion_runs_exactly_once()
    {
        var future = _ring.Nop();
        Assert.True(future.Wait(TimeSpan.FromSeconds(10)));
        Assert.True(future.IsCompleted);
        var runs = 0;
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var awaiter = future.GetAwaiter();
        awaiter.UnsafeOnCompleted(() =>
        {
            Interlocked.Increment(ref runs);
            ran.SetResult();
        });
        await ran.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, awaiter.GetResult());
        await Task.Delay(20);
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task Awaiting_a_future_twice_is_refused_and_the_first_continuation_still_runs()
    {
        var future = _ring.Timeout(TimeSpan.FromMilliseconds(30));
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var awaiter = future.GetAwaiter();
        awaiter.UnsafeOnCompleted(first.SetResult);
        // The second awaiter never registers: it reports itself completed, and its GetResult —
        // which runs in the awaiting method, where it can be caught — throws.
        var second = future.GetAwaiter();
        Assert.True(second.IsCompleted);
        var e = Assert.Throws<InvalidOperationException>(() => second.GetResult());
        Assert.Contains("already awaited", e.Message);
        await first.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(awaiter.GetResult());
        // Consumed: every further use is refused, not answered with another operation's result.
        Assert.Throws<InvalidOperationException>(() => awaiter.GetResult());
        Assert.Throws<InvalidOperationException>(() => future.IsCompleted);
    }

    [Fact]
    public void A_stale_future_stays_stale_however_often_its_pooled_object_is_reused()
    {
        // One thread starts and consumes each operation, so every NOP reuses the same pooled
        // object from the ring's owner-thread cache; a 16-bit version would come round again
        // after 65,536 uses and make the first future valid for another operation.
        using var ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread });
        var stale = ring.Nop();
        Assert.Equal(0, stale.Result);
        CancelableFuture<int> latest = default;
        for (var i = 0; i < 65_536; i++)
        {
            latest = ring.Nop();
            Assert.Same(stale.PooledObject, latest.PooledObject);
            if (i < 65_535)
                Assert.Equal(0, latest.Result);
        }
        // `latest` is pending on the very object `stale` names, exactly 65,536 versions later.
        Assert.Throws<InvalidOperationException>(() => stale.IsCompleted);
        Assert.Throws<InvalidOperationException>(() => stale.Result);
        Assert.Throws<InvalidOperationException>(() => stale.Cancel());
        Assert.Equal("CancelableFuture(consumed)", stale.ToString());
        Assert.Equal(0, latest.Result);
    }

    [Fact]
    public async Task Two_concurrent_awaits_of_one_pending_future_give_the_second_a_catchable_exception()
    {
        var future = _ring.Timeout(TimeSpan.FromMilliseconds(50));
        async Task<bool> AwaitIt() => await future;
        var first = AwaitIt();
        var second = AwaitIt(); // before the timeout fires: both await one pending future
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => second.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("already awaited", e.Message);
        Assert.True(await first.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_registration_refused_inside_the_async_machinery_resumes_the_awaiting_method_with_an_exception()
    {
        // The same future awaited through two ValueTasks: the second registration reaches the
        // operation itself (no awaiter can refuse it first) and must not throw there, where the
        // async method builder would rethrow it on the thread pool and end the process.
        var future = _ring.Timeout(TimeSpan.FromMilliseconds(200));
        var asValueTask = future.AsValueTask();
        async Task<bool> AwaitIt(ValueTask<bool> task) => await task;
        var first = AwaitIt(asValueTask);
        var second = AwaitIt(asValueTask);
        await Assert.ThrowsAsync<InvalidOperationException>(() => second.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(await first.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Waiting_on_a_future_that_is_also_awaited_returns_instead_of_hanging()
    {
        var future = _ring.Timeout(TimeSpan.FromMilliseconds(50));
        var continued = new ManualResetEventSlim();
        future.GetAwaiter().UnsafeOnCompleted(continued.Set);
        Assert.True(future.Wait(TimeSpan.FromSeconds(10)));
        Assert.True(continued.Wait(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task ValueTask_and_Task_views_report_succeeded_faulted_and_canceled()
    {
        var ok = _ring.Nop().AsValueTask();
        Assert.Equal(0, await ok);

        var (r, w) = Native.Pipe();
        try
        {
            using var pool = new OwnershipMemoryPool(64);
            var pending = _ring.Read(r, pool.Rent());
            var view = pending.AsTask();
            Assert.Equal(CancelOutcome.Cancelled, await pending.Cancel());
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => view);
            Assert.True(view.IsCanceled);
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }

        using var pool2 = new OwnershipMemoryPool(64);
        var bad = _ring.Read(Native.ClosedFd(), pool2.Rent()).AsTask(); // (a high number: no parallel test reopens it)
        var error = await Assert.ThrowsAsync<UringIOException>(() => bad);
        Assert.True(bad.IsFaulted);
        Assert.Equal(Errno.EBADF, error.Errno);
    }

    [Fact]
    public async Task IValueTaskSource_status_follows_the_outcome()
    {
        var cancelled = _ring.Timeout(TimeSpan.FromMinutes(1));
        ValueTask<bool> view = cancelled;
        await cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await view);

        ValueTask<int> succeeded = _ring.Nop();
        while (!succeeded.IsCompleted)
            await Task.Delay(1);
        Assert.True(succeeded.IsCompletedSuccessfully);
        Assert.Equal(0, succeeded.Result);
    }

    [Fact]
    public async Task RunContinuationsAsynchronously_moves_continuations_to_the_thread_pool()
    {
        using var ring = new Ring(new RingOptions { RunContinuationsAsynchronously = true });
        for (var i = 0; i < 10; i++)
        {
            await ring.Timeout(TimeSpan.FromMilliseconds(2)).ConfigureAwait(false);
            Assert.False(ring.IsOwnerThread);
            Assert.True(Thread.CurrentThread.IsThreadPoolThread);
        }
    }

    [Fact]
    public void The_owner_thread_prepares_at_once_and_other_threads_queue_until_the_next_turn()
    {
        using var ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread });
        var onOwner = ring.Timeout(TimeSpan.FromMinutes(1));
        Assert.Equal(1, ring.InFlight); // an SQE was prepared right here

        CancelableFuture<bool> fromElsewhere = default;
        var other = new Thread(() => fromElsewhere = ring.Timeout(TimeSpan.FromMinutes(1)));
        other.Start();
        other.Join();
        Assert.Equal(1, ring.InFlight); // queued for the owner, not prepared by the other thread

        ring.RunOnce(TimeSpan.Zero);
        Assert.Equal(2, ring.InFlight);
        Assert.Equal(CancelOutcome.Cancelled, onOwner.Cancel().Result);
        Assert.Equal(CancelOutcome.Cancelled, fromElsewhere.Cancel().Result);
        Assert.Throws<OperationCanceledException>(() => onOwner.Result);
        Assert.Throws<OperationCanceledException>(() => fromElsewhere.Result);
    }

    [Fact]
    public async Task Operations_recycled_on_one_ring_are_never_handed_out_by_another()
    {
        using var other = new Ring();
        var failures = 0;
        async Task Loop(Ring ring, Ring expected)
        {
            for (var i = 0; i < 2000; i++)
            {
                var future = ring.Nop();
                if (!ReferenceEquals(Owner(future), expected))
                    Interlocked.Increment(ref failures);
                await future.ConfigureAwait(false);
                // Alternate rings from a continuation of the first: objects cached on one ring's
                // loop thread must stay with that ring.
                var crossRing = (i & 1) == 0 ? other : _ring;
                var cross = crossRing.Nop();
                if (!ReferenceEquals(Owner(cross), crossRing))
                    Interlocked.Increment(ref failures);
                await cross.ConfigureAwait(false);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => (i & 1) == 0 ? Loop(_ring, _ring) : Loop(other, other))));
        Assert.Equal(0, failures);
    }

    [Fact]
    public async Task Results_consumed_on_other_threads_while_the_loop_thread_awaits_stay_correct()
    {
        // Synchronous Result calls on 3 threads (their operations are recycled off the loop
        // thread, into the shared pool) mixed with 8 awaiting loops (recycled on the loop thread,
        // into the ring's own cache). An object that reached both, or either twice, would give
        // two live futures one operation: wrong results, refused tokens or a hang.
        const int PerWorker = 20_000;
        var wrong = 0;
        var waiters = Enumerable.Range(0, 3).Select(worker => Task.Factory.StartNew(() =>
        {
            for (var i = 0; i < PerWorker; i++)
            {
                var n = _ring.Nop();
                var t = _ring.Timeout(TimeSpan.FromSeconds(10));
                if (n.Result != 0)
                    Interlocked.Increment(ref wrong);
                if (t.Cancel().Result == CancelOutcome.NotFound)
                    Interlocked.Increment(ref wrong);
                try
                {
                    _ = t.Result;
                    Interlocked.Increment(ref wrong);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        async Task Loop()
        {
            for (var i = 0; i < PerWorker; i++)
                if (await _ring.Nop().ConfigureAwait(false) != 0)
                    Interlocked.Increment(ref wrong);
        }
        var loops = Enumerable.Range(0, 8).Select(_ => Task.Run(Loop)).ToArray();
        await Task.WhenAll(waiters.Concat(loops)).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, wrong);
    }

    // The ring recorded in a future's pooled operation (internal state, read by reflection).
    private static Ring Owner<T>(CancelableFuture<T> future)
    {
        const System.Reflection.BindingFlags Instance = System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance;
        var op = typeof(CancelableFuture<T>).GetField("_operation", Instance)!.GetValue(future)!;
        return (Ring)op.GetType().BaseType!.GetField("Ring", Instance)!.GetValue(op)!;
    }
}
