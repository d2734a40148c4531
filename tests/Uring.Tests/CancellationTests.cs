using System.Runtime.InteropServices;
using System.Text;
using Uring.Bindings;

namespace Uring.Tests;

/// <summary>Cancelling in-flight operations, and proof that cancelled memory is never written late.</summary>
public sealed class CancellationTests : IDisposable
{
    private const byte Canary = 0xCC;
    private readonly Ring _ring = new();

    public void Dispose() => _ring.Dispose();

    /// <summary>A pool that records the order of returns relative to an external event log.</summary>
    private sealed class RecordingPool : IOwnershipMemoryPool
    {
        public readonly List<string> Log;
        public readonly List<OwnershipMemory> Idle = new();
        public RecordingPool(List<string> log) => Log = log;
        public void Return(OwnershipMemory memory)
        {
            lock (Log) Log.Add("returned");
            lock (Idle) Idle.Add(memory);
        }
    }

    [Fact]
    public async Task Cancelled_pipe_read_reports_cancelled_and_its_memory_is_never_written_afterwards()
    {
        var (r, w) = Native.Pipe();
        var log = new List<string>();
        var pool = new RecordingPool(log);
        var buffer = OwnershipMemory.AllocateForPool(4096, 4096, pool);
        var raw = buffer.DangerousGetPointer();
        buffer.Span.Fill(Canary);
        try
        {
            var read = _ring.Read(r, buffer, -1, 1024);
            await Task.Delay(20);
            Assert.False(read.IsCompleted);
            Assert.Equal(OwnershipState.Kernel, buffer.State);
            Assert.Throws<BufferBusyException>(() => buffer.Span.Length);
            Assert.Throws<BufferBusyException>(() => buffer.Dispose());
            Assert.Empty(log);

            var outcome = await read.Cancel();
            Assert.Equal(CancelOutcome.Cancelled, outcome);
            var e = await Assert.ThrowsAsync<OperationCanceledException>(async () => await read);
            Assert.Contains("IORING_OP_READ", e.Message);
            lock (log) log.Add("future completed");

            // The buffer went back to its pool, and only with the CQE (the future completes with the CQE).
            Assert.Equal(OwnershipState.Pooled, buffer.State);
            Assert.Equal(new[] { "returned", "future completed" }, log);

            // Data written now must go to the next reader, never into the cancelled buffer.
            Native.WriteAll(w, Encoding.ASCII.GetBytes("LATE DATA"));
            await Task.Delay(20);
            var got = new byte[64];
            Assert.Equal(9, Native.ReadSome(r, got));
            Assert.Equal("LATE DATA", Encoding.ASCII.GetString(got, 0, 9));
            Assert.Equal(-1, FirstNonCanary(raw, 4096));
        }
        finally
        {
            Native.close(r);
            Native.close(w);
            buffer.FreeFromPool();
        }
    }

    [Fact]
    public async Task Cancelled_read_leaves_guarded_neighbouring_memory_untouched()
    {
        // A read into a page surrounded by PROT_NONE pages: any stray write outside it faults.
        const int page = 4096;
        var map = mmap(IntPtr.Zero, 3 * page, 3 /* RW */, 0x22 /* PRIVATE|ANON */, -1, 0);
        Assert.NotEqual((nint)(-1), map);
        Assert.Equal(0, mprotect(map, page, 0));
        Assert.Equal(0, mprotect(map + 2 * page, page, 0));
        var middle = map + page;
        FillCanary(middle, page);

        var (r, w) = Native.Pipe();
        using var lent = OwnershipMemory.Allocate(page);
        try
        {
            var read = _ring.Read(r, lent, -1);
            Assert.Equal(CancelOutcome.Cancelled, await read.Cancel());
            await Assert.ThrowsAsync<OperationCanceledException>(async () => await read);
            Native.WriteAll(w, new byte[100]);
            // The canary page was never lent and must be intact; the lent buffer was released.
            Assert.Equal(OwnershipState.Released, lent.State);
            Assert.Equal(-1, FirstNonCanary(middle, page));
        }
        finally
        {
            Native.close(r);
            Native.close(w);
            munmap(map, 3 * page);
        }
    }

    [DllImport("libc")] private static extern IntPtr mmap(IntPtr addr, nuint length, int prot, int flags, int fd, nint offset);
    [DllImport("libc")] private static extern int mprotect(IntPtr addr, nuint length, int prot);
    [DllImport("libc")] private static extern int munmap(IntPtr addr, nuint length);

    private static unsafe void FillCanary(IntPtr p, int length) => new Span<byte>((void*)p, length).Fill(Canary);

    private static unsafe int FirstNonCanary(IntPtr p, int length) => new ReadOnlySpan<byte>((void*)p, length).IndexOfAnyExcept(Canary);

    [Fact]
    public async Task Cancel_after_completion_reports_already_completed()
    {
        var nop = _ring.Nop();
        Assert.True(nop.Wait(TimeSpan.FromSeconds(5)));
        Assert.Equal(CancelOutcome.AlreadyCompleted, await nop.Cancel());
        Assert.Equal(0, nop.Result);
        Assert.Throws<InvalidOperationException>(() => nop.Cancel()); // consumed
    }

    [Fact]
    public async Task Cancelling_a_timeout_ends_it_cancelled()
    {
        var t = _ring.Timeout(TimeSpan.FromSeconds(30));
        await Task.Delay(10);
        Assert.Equal(CancelOutcome.Cancelled, await t.Cancel());
        await Assert.ThrowsAsync<OperationCanceledException>(async () => await t);
    }

    [Fact]
    public async Task CancellationToken_cancels_an_in_flight_read()
    {
        var (r, w) = Native.Pipe();
        using var cts = new CancellationTokenSource();
        var buffer = OwnershipMemory.Allocate(128);
        try
        {
            var read = _ring.Read(r, buffer, cancellationToken: cts.Token);
            await Task.Delay(10);
            cts.Cancel();
            var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await read);
            Assert.Equal(cts.Token, e.CancellationToken);
            Assert.Equal(OwnershipState.Released, buffer.State);

            var pre = _ring.Nop(cts.Token); // already cancelled: never submitted
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pre);
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public async Task Abandoned_future_releases_its_buffer_only_after_the_CQE()
    {
        var (r, w) = Native.Pipe();
        using var pool = new OwnershipMemoryPool(256);
        var buffer = pool.Rent();
        var read = _ring.Read(r, buffer, -1, 5);
        // Nobody will ever await `read`; closing the write end makes the kernel complete it.
        await Task.Delay(10);
        Assert.Equal(0, pool.ReturnCount);
        Native.WriteAll(w, "abcde"u8);
        Assert.True(read.Wait(TimeSpan.FromSeconds(5)));
        // Success hands the buffer back to the caller (here: never collected; the test reads it).
        Assert.Equal(OwnershipState.User, buffer.State);
        Assert.Equal("abcde", Encoding.ASCII.GetString(buffer.Span[..5]));
        buffer.Dispose();
        Assert.Equal(1, pool.ReturnCount);
        Native.close(r);
        Native.close(w);
    }

    [Fact]
    public async Task Completion_cancel_and_dispose_race_to_exactly_one_outcome()
    {
        for (var round = 0; round < 50; round++)
        {
            var ring = new Ring(new RingOptions { Entries = 16 });
            var (r, w) = Native.Pipe();
            using var pool = new OwnershipMemoryPool(64);
            var futures = Enumerable.Range(0, 8).Select(_ => ring.Read(r, pool.Rent(), -1, 1)).ToArray();
            var writer = Task.Run(() => Native.WriteAll(w, new byte[4]));
            var canceller = Task.Run(() =>
            {
                foreach (var f in futures.Take(4))
                {
                    try { f.Cancel(); }
                    catch (InvalidOperationException) { } // already consumed, or the ring is disposed
                }
            });
            var disposer = Task.Run(() => ring.Dispose());
            await Task.WhenAll(writer, canceller, disposer);
            int results = 0, cancelled = 0, disposed = 0;
            foreach (var f in futures)
            {
                try
                {
                    var (n, b) = await f;
                    Assert.Equal(1, n);
                    b.Dispose();
                    results++;
                }
                catch (RingDisposedException) { disposed++; }
                catch (OperationCanceledException) { cancelled++; }
            }
            Assert.Equal(8, results + cancelled + disposed);
            Assert.True(results <= 4);
            Assert.Equal(8, pool.ReturnCount); // every buffer came back exactly once
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public void Opcode_of_a_future_is_visible()
    {
        var f = _ring.Timeout(TimeSpan.Zero);
        Assert.Equal(io_uring_op.IORING_OP_TIMEOUT, f.Opcode);
        Assert.True(f.Result);
    }

    [Fact]
    public void Cancelling_an_operation_still_in_the_queue_never_submits_it()
    {
        var owner = new Thread(() =>
        {
            using var ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread });
            var (r, w) = Native.Pipe();
            using var pool = new OwnershipMemoryPool(64);
            CancelableFuture<BufferResult<OwnershipMemory>> read = default;
            CancelableFuture<CancelOutcome> cancel = default;
            var other = new Thread(() =>
            {
                read = ring.Read(r, pool.Rent());   // queued: the owner has not run yet
                cancel = read.Cancel();
            });
            other.Start();
            other.Join();
            var before = ring.KernelEnterCalls;
            ring.RunOnce(TimeSpan.Zero);
            Assert.Equal(CancelOutcome.Cancelled, cancel.Result);
            Assert.Throws<OperationCanceledException>(() => read.Result);
            Assert.Equal(0, ring.InFlight);
            Assert.Equal(1, pool.ReturnCount);
            Assert.Equal(1, ring.KernelEnterCalls - before);
            Native.close(r);
            Native.close(w);
        });
        owner.Start();
        owner.Join();
    }

    [Fact]
    public async Task Hard_linked_chain_continues_after_a_failure()
    {
        var closed = Native.ClosedFd();
        using var chain = _ring.CreateChain(hardLinks: true);
        var bad = chain.Fsync(closed);
        var next = chain.Nop();
        chain.Submit();
        Assert.Equal(9, (await Assert.ThrowsAsync<UringIOException>(async () => await bad)).Errno);
        Assert.Equal(0, await next);
    }
}
