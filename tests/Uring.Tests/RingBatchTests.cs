using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Uring.Tests;

/// <summary>Batches: operations without futures, completions taken as a span, the same ownership rules.</summary>
public sealed class RingBatchTests : IDisposable
{
    private readonly Ring _ring = new(new RingOptions { Threading = RingThreading.CallerThread, Entries = 64 });
    private readonly TestFiles _files = new();

    public void Dispose()
    {
        _ring.Dispose();
        _files.Dispose();
    }

    [Fact]
    public void Nops_complete_with_their_tags_in_rounds_larger_than_the_SQ()
    {
        using var batch = _ring.CreateBatch(256);
        var seen = new HashSet<ulong>();
        var completions = new BatchCompletion[256];
        for (ulong round = 0; round < 20; round++)
        {
            for (ulong i = 0; i < 200; i++) // 200 > 64 SQ entries: the batch submits to make room
                batch.Nop(round * 1000 + i);
            Assert.Equal(200, batch.InFlight + batch.Ready);
            var got = 0;
            while (got < 200)
            {
                var n = batch.Complete(completions, 200 - got);
                for (var i = 0; i < n; i++)
                {
                    Assert.Equal(0, completions[i].Result);
                    Assert.True(seen.Add(completions[i].Tag), $"tag {completions[i].Tag} completed twice");
                }
                got += n;
            }
        }
        Assert.Equal(4000, seen.Count);
        Assert.Equal(0, batch.InFlight);
        Assert.Equal(0, _ring.InFlight);
    }

    [Fact]
    public void Reads_lend_their_buffers_until_the_completion_and_hand_them_back_with_the_data()
    {
        var data = new byte[64 * 1024];
        new Random(7).NextBytes(data);
        var path = _files.PathOf("batch.bin");
        File.WriteAllBytes(path, data);
        using var handle = File.OpenHandle(path);
        using var batch = _ring.CreateBatch(16);
        var buffers = Enumerable.Range(0, 16).Select(_ => OwnershipMemory.Allocate(4096)).ToArray();
        try
        {
            for (var i = 0; i < 16; i++)
                batch.Read(handle, buffers[i], (15 - i) * 4096L, tag: (ulong)i);
            Assert.All(buffers, b => Assert.Equal(OwnershipState.Kernel, b.State));
            Assert.Throws<BufferBusyException>(() => buffers[0].Span.ToArray());
            var completions = new BatchCompletion[16];
            var got = 0;
            while (got < 16)
                got += batch.Complete(completions.AsSpan(got), 16 - got);
            foreach (var c in completions)
            {
                Assert.Equal(4096, c.Result);
                var i = (int)c.Tag;
                Assert.Same(buffers[i], c.Buffer);
                Assert.Equal(OwnershipState.User, c.Buffer!.State);
                Assert.True(c.Buffer.Span.SequenceEqual(data.AsSpan((15 - i) * 4096, 4096)), $"read {i} has the wrong bytes");
            }
        }
        finally
        {
            foreach (var b in buffers)
                b.Dispose();
        }
    }

    [Fact]
    public void Completions_taken_one_at_a_time_around_the_batch_carry_only_their_own_buffer()
    {
        // Capacity 3, taken one by one: the batch's completion store wraps many times, with
        // buffer-carrying (reads), failed (bad fd) and buffer-less (NOP) completions interleaved.
        var path = _files.PathOf("wrap.bin");
        File.WriteAllBytes(path, Enumerable.Range(0, 256).Select(i => (byte)i).ToArray());
        using var handle = File.OpenHandle(path);
        using var batch = _ring.CreateBatch(3);
        var completion = new BatchCompletion[1];
        for (var round = 0; round < 40; round++)
        {
            var buffer = OwnershipMemory.Allocate(16);
            var failing = OwnershipMemory.Allocate(16);
            batch.Read(handle, buffer, round, tag: 3UL * (ulong)round);
            var count = 2 + round % 2; // odd rounds add a NOP: every kind visits every entry of the store
            if (count == 3)
                batch.Nop(3UL * (ulong)round + 1);
            batch.Read(Native.ClosedFd(), failing, 0, tag: 3UL * (ulong)round + 2);
            var seen = 0;
            while (seen < count)
            {
                if (batch.Complete(completion) == 0)
                    continue;
                seen++;
                var c = completion[0];
                switch (c.Tag % 3)
                {
                    case 0:
                        Assert.Equal(16, c.Result);
                        Assert.Same(buffer, c.Buffer);
                        Assert.Equal((byte)round, c.Buffer!.Span[0]);
                        break;
                    case 1:
                        Assert.Equal(0, c.Result);
                        Assert.Null(c.Buffer);
                        break;
                    default:
                        Assert.Equal(-9, c.Result);
                        Assert.Null(c.Buffer);
                        Assert.Equal(OwnershipState.Released, failing.State);
                        break;
                }
                Assert.Equal((ulong)round, c.Tag / 3);
            }
            buffer.Dispose();
        }
        Assert.Equal(0, batch.Ready);
    }

    [Fact]
    public void A_failed_operation_reports_minus_errno_and_releases_its_buffer_after_the_CQE()
    {
        using var batch = _ring.CreateBatch(4);
        var buffer = OwnershipMemory.Allocate(64);
        batch.Read(Native.ClosedFd(), buffer, 0, tag: 9);
        var completions = new BatchCompletion[1];
        Assert.Equal(1, batch.Complete(completions));
        Assert.Equal(9ul, completions[0].Tag);
        Assert.Equal(-9, completions[0].Result); // EBADF
        Assert.Null(completions[0].Buffer);
        Assert.Equal(OwnershipState.Released, buffer.State);
        buffer.Dispose(); // the owner's using block: a no-op after the façade's release
    }

    [Fact]
    public void A_buffer_already_lent_is_refused_and_nothing_is_submitted()
    {
        using var batch = _ring.CreateBatch(4);
        var (r, w) = Native.Pipe();
        try
        {
            using var buffer = OwnershipMemory.Allocate(16);
            batch.Read(r, buffer, -1, tag: 1);
            Assert.Throws<BufferBusyException>(() => batch.Read(r, buffer, -1, tag: 2));
            Assert.Equal(1, batch.InFlight);
            Native.WriteAll(w, "x"u8.ToArray());
            var completions = new BatchCompletion[4];
            Assert.Equal(1, batch.Complete(completions));
            Assert.Equal(1ul, completions[0].Tag);
            Assert.Equal(1, completions[0].Result);
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public void Capacity_bounds_what_is_in_flight_or_not_taken()
    {
        using var batch = _ring.CreateBatch(3);
        batch.Nop(1);
        batch.Nop(2);
        batch.Nop(3);
        Assert.Throws<InvalidOperationException>(() => batch.Nop(4));
        var completions = new BatchCompletion[3];
        Assert.Equal(3, batch.Complete(completions, 3));
        Assert.Equal(6ul, completions.Aggregate(0ul, (sum, c) => sum + c.Tag));
        batch.Nop(5); // room again
        Assert.Equal(1, batch.Complete(completions));
    }

    [Fact]
    public void Only_the_owner_thread_may_use_a_batch()
    {
        using var batch = _ring.CreateBatch(4);
        Exception? useError = null, createError = null;
        var other = new Thread(() =>
        {
            useError = Record.Exception(() => batch.Nop(1));
            createError = Record.Exception(() => _ring.CreateBatch());
        });
        other.Start();
        other.Join();
        Assert.IsType<InvalidOperationException>(useError);
        Assert.IsType<InvalidOperationException>(createError);
        Assert.Equal(0, batch.InFlight);
    }

    [Fact]
    public void Futures_and_batch_operations_share_the_ring_and_each_gets_its_own_completions()
    {
        using var batch = _ring.CreateBatch(8);
        batch.Nop(41);
        var future = _ring.Timeout(TimeSpan.FromMilliseconds(10));
        batch.Nop(42);
        Assert.True(future.Result); // driving the ring for the future collects the batch's CQEs into the batch
        var completions = new BatchCompletion[8];
        var n = batch.Complete(completions, 2);
        Assert.Equal([41ul, 42ul], completions[..n].Select(c => c.Tag).Order());
    }

    [Fact]
    public void A_handle_stays_referenced_until_the_completion()
    {
        var (r, w) = Native.Pipe();
        var handle = new SafeFileHandle(r, ownsHandle: true);
        using var batch = _ring.CreateBatch(2);
        using var buffer = OwnershipMemory.Allocate(8);
        batch.Read(handle, buffer, -1, tag: 1);
        handle.Dispose();
        Assert.True(Native.IsOpen(r)); // the batch still holds the handle
        Native.WriteAll(w, "z"u8.ToArray());
        var completions = new BatchCompletion[1];
        Assert.Equal(1, batch.Complete(completions));
        Assert.Equal(1, completions[0].Result);
        Assert.False(Native.IsOpen(r)); // released with the CQE
        Native.close(w);
    }

    [Fact]
    public void Disposing_the_ring_cancels_batch_operations_and_releases_their_buffers_after_the_CQEs()
    {
        var ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread });
        var (r, w) = Native.Pipe();
        var batch = ring.CreateBatch(4);
        var buffer = OwnershipMemory.Allocate(16);
        batch.Read(r, buffer, -1, tag: 7);
        ring.Dispose();
        Assert.Equal(OwnershipState.Released, buffer.State); // cancelled, CQE collected, released
        var completions = new BatchCompletion[1];
        Assert.Equal(1, batch.Complete(completions));
        Assert.Equal(-125, completions[0].Result); // ECANCELED
        Assert.Null(completions[0].Buffer);
        Native.close(r);
        Native.close(w);
    }

    [Fact]
    public void Completions_come_oldest_first_through_small_spans_with_futures_in_between()
    {
        using var batch = _ring.CreateBatch(48);
        var futures = new List<CancelableFuture<int>>();
        for (ulong i = 0; i < 48; i++)
        {
            batch.Nop(i);
            if (i % 3 == 0)
                futures.Add(_ring.Nop()); // their CQEs sit between the batch's in the CQ
        }
        var tags = new List<ulong>();
        var span = new BatchCompletion[5];
        while (tags.Count < 48)
        {
            var n = batch.Complete(span, 1);
            Assert.InRange(n, 1, 5);
            tags.AddRange(span[..n].Select(c => c.Tag));
        }
        Assert.Equal(Enumerable.Range(0, 48).Select(i => (ulong)i), tags); // NOPs complete in submission order
        Assert.All(futures, f => Assert.Equal(FutureStatus.Succeeded, f.Status));
        Assert.All(futures, f => Assert.Equal(0, f.Result));
        Assert.Equal(0, _ring.InFlight);
    }
}

/// <summary>A batch used where a dedicated ring's continuations run: on its loop thread.</summary>
public sealed class RingBatchLoopThreadTests
{
    [Fact]
    public void Complete_in_a_continuation_gets_the_completions_reaped_with_it()
    {
        // The ring reaps the future's CQE and the batch's ten together, then runs the future's
        // continuation, which waits for the ten: they are already out of the CQ, behind it.
        int got = -1;
        ulong[] tags = [];
        Exception? failure = null;
        var owner = new Thread(() =>
        {
            try
            {
                using var ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread, Entries = 64 });
                using var batch = ring.CreateBatch(16);
                var future = ring.Nop();
                future.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(() =>
                {
                    var completions = new BatchCompletion[10];
                    got = batch.Complete(completions, 10);
                    tags = completions[..got].Select(c => c.Tag).ToArray();
                });
                for (ulong i = 0; i < 10; i++)
                    batch.Nop(i);
                ring.RunOnce(TimeSpan.FromSeconds(5));
            }
            catch (Exception e)
            {
                failure = e;
            }
        }) { IsBackground = true };
        owner.Start();
        Assert.True(owner.Join(TimeSpan.FromSeconds(20)), "Complete waited in the kernel for completions already reaped");
        Assert.Null(failure);
        Assert.Equal(10, got);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (ulong)i), tags);
    }

    [Fact]
    public async Task A_batch_runs_in_a_continuation_on_a_dedicated_rings_loop_thread()
    {
        using var ring = new Ring();
        var started = ring.Timeout(TimeSpan.FromMilliseconds(100));
        Assert.False(started.IsCompleted);
        await started.ConfigureAwait(false); // the continuation runs inline on the loop thread
        Assert.True(ring.IsOwnerThread);
        using var batch = ring.CreateBatch(32);
        for (ulong i = 0; i < 32; i++)
            batch.Nop(i);
        var completions = new BatchCompletion[32];
        var got = 0;
        while (got < 32)
            got += batch.Complete(completions.AsSpan(got), 32 - got);
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (ulong)i), completions.Select(c => c.Tag).Order());
    }
}
