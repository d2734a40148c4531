namespace Uring.Tests;

/// <summary>
/// Where code runs after an <c>await</c>: <see cref="Ring.SwitchToOwnerThread"/> always lands on
/// the owner thread, and a continuation registered after its operation had completed still runs
/// on a dedicated ring's loop thread (not the thread pool, which may have no thread to give).
/// </summary>
public sealed class OwnerThreadTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    /// <summary>The managed thread id of the ring's loop thread, as a continuation there sees it
    /// (without a captured context: xunit runs tests under its own SynchronizationContext).</summary>
    private static async Task<int> LoopThreadIdAsync(Ring ring)
    {
        var probe = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var nop = ring.Nop();
        nop.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(() => probe.SetResult(Environment.CurrentManagedThreadId));
        var id = await probe.Task.WaitAsync(Limit);
        nop.GetResult();
        return id;
    }

    [Fact]
    public async Task Switching_from_another_thread_continues_on_the_loop_thread()
    {
        using var ring = new Ring();
        var loop = await LoopThreadIdAsync(ring);
        Assert.False(ring.IsOwnerThread);

        await ring.SwitchToOwnerThread();

        Assert.True(ring.IsOwnerThread);
        Assert.Equal(loop, Environment.CurrentManagedThreadId);
        Assert.True(ring.SwitchToOwnerThread().GetAwaiter().IsCompleted); // there already: no second hop
        await ring.SwitchToOwnerThread();
        Assert.Equal(loop, Environment.CurrentManagedThreadId);
        await Task.Yield(); // back to the thread pool, so the ring is not disposed from its own loop thread
    }

    [Fact]
    public async Task The_execution_context_flows_across_the_switch()
    {
        using var ring = new Ring();
        var local = new AsyncLocal<string> { Value = "carried" };
        await ring.SwitchToOwnerThread();
        Assert.Equal("carried", local.Value);
        await Task.Yield();
    }

    [Fact]
    public async Task Code_on_the_loop_thread_submits_without_the_cross_thread_queue()
    {
        using var ring = new Ring();
        await ring.SwitchToOwnerThread();
        // On the owner thread an operation's continuation is registered before its CQE can be
        // reaped: every await below resumes on the loop thread, never the thread pool.
        var loop = Environment.CurrentManagedThreadId;
        for (var i = 0; i < 1000; i++)
        {
            await ring.Nop();
            Assert.Equal(loop, Environment.CurrentManagedThreadId);
        }
        await Task.Yield();
    }

    [Fact]
    public async Task A_disposed_ring_refuses_the_switch_with_a_typed_error()
    {
        var ring = new Ring();
        ring.Dispose();
        var e = await Assert.ThrowsAsync<RingDisposedException>(async () => await ring.SwitchToOwnerThread());
        Assert.Contains("disposed", e.Message);
    }

    [Fact]
    public async Task A_caller_thread_ring_runs_the_switched_code_during_its_owners_turn()
    {
        var owner = new TaskCompletionSource<int>();
        int ranOn = 0;
        var thread = new Thread(() =>
        {
            using var ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread });
            var ownerId = Environment.CurrentManagedThreadId;
            var switched = Task.Run(async () =>
            {
                await ring.SwitchToOwnerThread();
                Volatile.Write(ref ranOn, Environment.CurrentManagedThreadId);
            });
            var deadline = DateTime.UtcNow + Limit;
            while (!switched.IsCompleted && DateTime.UtcNow < deadline)
                ring.RunOnce(TimeSpan.FromMilliseconds(10)); // nothing happens unless the owner turns
            owner.SetResult(ownerId);
        });
        thread.Start();
        var ownerId = await owner.Task.WaitAsync(Limit);
        Assert.Equal(ownerId, Volatile.Read(ref ranOn));
    }

    [Fact]
    public async Task A_continuation_registered_after_completion_runs_on_the_loop_thread()
    {
        using var ring = new Ring();
        var loop = await LoopThreadIdAsync(ring);
        for (var round = 0; round < 50; round++)
        {
            var nop = ring.Nop();
            var waited = DateTime.UtcNow;
            while (nop.Status == FutureStatus.Pending)
            {
                Assert.True(DateTime.UtcNow - waited < Limit, "the NOP never completed");
                Thread.Yield();
            }
            // Completed before anyone registered: the registration, here on a test thread, must
            // not run the continuation inline nor hand it to the thread pool.
            var ran = new TaskCompletionSource<(int Thread, bool Owner)>(TaskCreationOptions.RunContinuationsAsynchronously);
            var awaiter = nop.ConfigureAwait(false).GetAwaiter(); // (xunit's context would take it otherwise)
            awaiter.UnsafeOnCompleted(() =>
            {
                awaiter.GetResult();
                ran.SetResult((Environment.CurrentManagedThreadId, ring.IsOwnerThread));
            });
            var (thread, owner) = await ran.Task.WaitAsync(Limit);
            Assert.Equal(loop, thread);
            Assert.True(owner);
        }
    }
}
