using Uring.Bindings;

namespace Uring.Tests;

/// <summary>Shutdown with work in flight, SQ/CQ pressure, and setup variants.</summary>
[Collection(SerialCollection.Name)]
public sealed class RingLifecycleTests
{
    [Fact]
    public async Task Dispose_with_reads_in_flight_cancels_them_and_releases_buffers_after_their_CQEs()
    {
        var ringFdsBefore = Native.RingFileCount();
        var memoryBefore = NativeMemoryStatistics.LiveBytes;
        var (r, w) = Native.Pipe();
        var pool = new OwnershipMemoryPool(4096);
        var ring = new Ring();
        var reads = Enumerable.Range(0, 16).Select(_ => ring.Read(r, pool.Rent())).ToArray();
        var timer = ring.Timeout(TimeSpan.FromMinutes(5));
        await Task.Delay(20);
        Assert.Equal(17, ring.InFlight);
        Assert.Equal(0, pool.ReturnCount);

        ring.Dispose();

        foreach (var read in reads)
        {
            var e = await Assert.ThrowsAsync<RingDisposedException>(async () => await read);
            Assert.Equal(io_uring_op.IORING_OP_READ, e.Opcode);
            Assert.Contains("disposed", e.Message);
        }
        await Assert.ThrowsAsync<RingDisposedException>(async () => await timer);
        Assert.Equal(16, pool.ReturnCount);
        Native.close(r);
        Native.close(w);
        pool.Dispose();
        Assert.Equal(ringFdsBefore, Native.RingFileCount()); // every ring fd and eventfd closed
        Assert.Equal(memoryBefore, NativeMemoryStatistics.LiveBytes);
    }

    [Fact]
    public async Task Queued_operations_fail_when_the_ring_is_disposed_from_a_continuation()
    {
        var ring = new Ring();
        await ring.Timeout(TimeSpan.FromMilliseconds(10)).ConfigureAwait(false); // pending when awaited: continues on the loop thread
        Assert.True(ring.IsOwnerThread);
        var pending = ring.Timeout(TimeSpan.FromMinutes(1));
        ring.Dispose(); // returns at once; the loop shuts down after this turn
        await Task.Yield();
        await Assert.ThrowsAsync<RingDisposedException>(async () => await pending);
    }

    [Fact]
    public void Full_SQ_and_CQ_overflow_lose_no_completion()
    {
        using var ring = new Ring(new RingOptions { Entries = 4, CompletionQueueEntries = 8 });
        Assert.Equal(4u, ring.SubmissionQueueEntries);
        Assert.Equal(8u, ring.CompletionQueueEntries);
        const int count = 20_000;
        var futures = new CancelableFuture<int>[count];
        var producers = Enumerable.Range(0, 4).Select(p => new Thread(() =>
        {
            for (var i = p; i < count; i += 4)
                futures[i] = ring.Nop();
        })).ToArray();
        foreach (var t in producers) t.Start();
        foreach (var t in producers) t.Join();
        var completed = futures.Count(f => f.Result == 0);
        Assert.Equal(count, completed);
    }

    [Fact]
    public async Task Burst_on_the_owner_thread_larger_than_the_SQ_and_CQ()
    {
        using var ring = new Ring(new RingOptions { Entries = 2, CompletionQueueEntries = 4 });
        await ring.Timeout(TimeSpan.FromMilliseconds(10)).ConfigureAwait(false); // continue on the loop thread: the fast path prepares SQEs directly
        Assert.True(ring.IsOwnerThread);
        var futures = new CancelableFuture<int>[5000];
        for (var i = 0; i < futures.Length; i++)
            futures[i] = ring.Nop();
        foreach (var f in futures)
            Assert.Equal(0, await f);
    }

    [Fact]
    public void Overflowed_completions_reach_a_polling_owner_that_never_waits()
    {
        // SQPOLL: submitting enters the kernel only to wake its thread or to flush an overflowed CQ,
        // and a turn that may not wait reads the CQ in place. Completions beyond the 4-entry CQ
        // wait in the kernel's overflow list until such an entry moves them back: turns that
        // never wait must still see every one, in a CQ whose head wraps many times.
        var completed = 0;
        Exception? failure = null;
        var owner = new Thread(() =>
        {
            try
            {
                using var ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread, SqPoll = true, Entries = 2, CompletionQueueEntries = 4 });
                var futures = Enumerable.Range(0, 64).Select(_ => ring.Nop()).ToArray();
                var deadline = Environment.TickCount64 + 10_000;
                while (futures.Any(f => !f.IsCompleted) && Environment.TickCount64 < deadline)
                    ring.RunOnce(TimeSpan.Zero);
                completed = futures.Count(f => f.IsCompleted && f.Result == 0);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        owner.Start();
        owner.Join();
        Assert.Null(failure);
        Assert.Equal(64, completed);
    }

    [Fact]
    public async Task Setup_variants_work()
    {
        foreach (var options in new[]
        {
            new RingOptions { DeferTaskrun = false, CoopTaskrun = true },
            new RingOptions { DeferTaskrun = false, CoopTaskrun = false },
            new RingOptions { SqPoll = true, SqPollIdleMilliseconds = 10 },
            new RingOptions { RunContinuationsAsynchronously = true },
        })
        {
            using var ring = new Ring(options);
            if (options.SqPoll)
                Assert.NotEqual(0u, ring.SetupFlags & Constants.IORING_SETUP_SQPOLL);
            for (var i = 0; i < 100; i++)
                Assert.Equal(0, await ring.Nop());
            Assert.True(await ring.Timeout(TimeSpan.FromMilliseconds(1)));
        }
    }

    [Fact]
    public void Caller_thread_ring_cannot_be_driven_or_disposed_from_elsewhere()
    {
        Ring? ring = null;
        using var created = new ManualResetEventSlim();
        using var checkedElsewhere = new ManualResetEventSlim();
        var owner = new Thread(() =>
        {
            ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread });
            created.Set();
            checkedElsewhere.Wait();
            ring.Dispose();
        });
        owner.Start();
        created.Wait();
        Assert.Throws<InvalidOperationException>(() => ring!.RunOnce(TimeSpan.Zero));
        Assert.Throws<InvalidOperationException>(() => ring!.Dispose());
        checkedElsewhere.Set();
        owner.Join();
        Assert.True(ring!.IsDisposed);
    }

    [Fact]
    public void Operations_queued_in_one_turn_reach_the_kernel_in_one_enter()
    {
        var thread = new Thread(() =>
        {
            using var ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread, Entries = 256 });
            ring.RunOnce(TimeSpan.Zero); // arms the wake-up read

            // Started on the owner thread: prepared at once, submitted by the next turn.
            var futures = Enumerable.Range(0, 100).Select(_ => ring.Nop()).ToArray();
            var before = ring.KernelEnterCalls;
            Assert.Equal(100, ring.RunOnce(TimeSpan.Zero));
            Assert.Equal(1, ring.KernelEnterCalls - before);
            Assert.All(futures, f => Assert.Equal(0, f.Result));

            // Started on other threads: queued, then drained and submitted together.
            var queued = new CancelableFuture<int>[100];
            var producer = new Thread(() => { for (var i = 0; i < queued.Length; i++) queued[i] = ring.Nop(); });
            producer.Start();
            producer.Join();
            before = ring.KernelEnterCalls;
            var reaped = ring.RunOnce(TimeSpan.Zero);
            Assert.Equal(1, ring.KernelEnterCalls - before);
            Assert.True(reaped >= 100, $"reaped {reaped}"); // plus the eventfd wake-up
            Assert.All(queued, f => Assert.Equal(0, f.Result));
        });
        thread.Start();
        thread.Join();
    }

    [Fact]
    public async Task Abandoned_future_keeps_its_buffer_alive_until_the_CQE_then_the_GC_frees_it()
    {
        using var ring = new Ring();
        await ring.Nop(); // the ring's first slot chunk exists from here on
        var (r, w) = Native.Pipe();
        try
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var before = NativeMemoryStatistics.LiveBytes;
            StartAndForget(ring, r);
            await Task.Delay(10);
            for (var i = 0; i < 3; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
            // Nobody references the buffer, but the kernel owns it: it must still be allocated.
            Assert.Equal(before + 8192, NativeMemoryStatistics.LiveBytes);
            Assert.Equal(1, ring.InFlight);

            Native.WriteAll(w, "late"u8);
            var deadline = Environment.TickCount64 + 5000;
            while (ring.InFlight != 0 && Environment.TickCount64 < deadline)
                await Task.Delay(1);
            for (var i = 0; i < 3; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
            Assert.Equal(before, NativeMemoryStatistics.LiveBytes);
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void StartAndForget(Ring ring, int fd) => ring.Read(fd, OwnershipMemory.Allocate(8192), -1, 16);

    [Fact]
    public async Task Dispose_from_another_thread_never_hangs_whatever_the_loop_is_doing()
    {
        var ringFdsBefore = Native.RingFileCount();
        var work = Task.Run(() =>
        {
            for (var i = 0; i < 300; i++)
            {
                var ring = new Ring(new RingOptions { Entries = 8 });
                for (var k = 0; k < i % 4; k++)
                    ring.Nop().Wait(); // the loop has just consumed (or is consuming) a wake-up
                if (i % 3 == 0)
                    _ = ring.Timeout(TimeSpan.FromMinutes(1));
                ring.Dispose();
            }
        });
        var finished = await Task.WhenAny(work, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(finished == work, "a Dispose hung");
        await work;
        Assert.Equal(ringFdsBefore, Native.RingFileCount()); // every ring fd and eventfd closed
    }
}
