using System.Diagnostics;
using Xunit.Abstractions;

namespace Uring.Tests;

/// <summary>
/// 10^6 mixed operations (nop, 4 KiB reads checked byte for byte, timeouts) from 64 concurrent
/// workers with random cancels; the first ring is disposed in the middle with work in flight.
/// Afterwards open fds and the façade's native memory must be back to their starting values.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class StressTests
{
    private const int Total = 1_000_000;
    private const int Workers = 64;
    private const int FileBlocks = 256;
    private readonly ITestOutputHelper _output;

    public StressTests(ITestOutputHelper output) => _output = output;

    private sealed class Counters
    {
        public long Started, Nops, Reads, Timeouts, Cancelled, Disposed, Corruptions, CancelsRequested;
    }

    [Fact]
    public async Task Million_mixed_operations_with_random_cancels_and_a_ring_disposed_midway()
    {
        using var files = new TestFiles();
        var path = files.CreatePatterned("stress.bin", FileBlocks * 4096);
        var content = File.ReadAllBytes(path);

        // Warm up once so that lazily created process-wide state is not counted as a leak.
        using (var warm = new Ring()) { await warm.Nop(); }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var fdsBefore = Native.OpenFileCount();
        var filesBefore = Native.OpenFiles();
        var ringFdsBefore = Native.RingFileCount();
        var bytesBefore = NativeMemoryStatistics.LiveBytes;
        var blocksBefore = NativeMemoryStatistics.LiveAllocations;

        var counters = new Counters();
        var stopwatch = Stopwatch.StartNew();
        var fd = Native.open(path, 0x80000 /* O_RDONLY|O_CLOEXEC */, 0);
        Assert.True(fd >= 0);
        var pool = new OwnershipMemoryPool(4096, 4096, maxRetained: 256);
        try
        {
            // Phase 1: half the operations, then dispose the ring while 64 are in flight.
            var ring1 = new Ring(new RingOptions { Entries = 128 });
            var phase1 = StartWorkers(ring1, fd, pool, content, counters, limit: Total, seed: 1);
            while (Interlocked.Read(ref counters.Started) < Total / 2)
                await Task.Delay(5);
            var inFlightAtDispose = ring1.InFlight;
            ring1.Dispose();
            await Task.WhenAll(phase1);
            var disposedInPhase1 = counters.Disposed;

            // Phase 2: the rest on a fresh ring.
            using (var ring2 = new Ring(new RingOptions { Entries = 128 }))
                await Task.WhenAll(StartWorkers(ring2, fd, pool, content, counters, limit: Total, seed: 2));

            stopwatch.Stop();
            var completed = counters.Nops + counters.Reads + counters.Timeouts + counters.Cancelled + counters.Disposed;
            _output.WriteLine($"{completed} operations in {stopwatch.Elapsed.TotalSeconds:F2} s: nop {counters.Nops}, read {counters.Reads}, timeout {counters.Timeouts}, " +
                              $"cancelled {counters.Cancelled} (cancels requested {counters.CancelsRequested}), failed by dispose {counters.Disposed}, in flight at dispose {inFlightAtDispose}, corruptions {counters.Corruptions}");
            Assert.Equal(0, counters.Corruptions);
            Assert.True(completed >= Total, $"only {completed} operations ended");
            Assert.True(disposedInPhase1 > 0 || inFlightAtDispose == 0, "the mid-way dispose failed nothing");
            Assert.True(counters.Cancelled > 0);
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(60), $"took {stopwatch.Elapsed}");
        }
        finally
        {
            pool.Dispose();
            Native.close(fd);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var fdsAfter = Native.OpenFileCount();
        var filesAfter = Native.OpenFiles();
        var opened = filesAfter.Where(kv => !filesBefore.TryGetValue(kv.Key, out var t) || t != kv.Value).Select(kv => $"{kv.Key}->{kv.Value}");
        _output.WriteLine($"fds {fdsBefore} -> {fdsAfter} (new: {string.Join(", ", opened)}); rings/eventfds {ringFdsBefore} -> {Native.RingFileCount()}; " +
                          $"native bytes {bytesBefore} -> {NativeMemoryStatistics.LiveBytes}; blocks {blocksBefore} -> {NativeMemoryStatistics.LiveAllocations}");
        // Rings, eventfds and the test file must all be closed. Descriptors other parts of the
        // process open meanwhile (the socket engine's epoll set, say) are listed, not counted.
        Assert.Equal(ringFdsBefore, Native.RingFileCount());
        Assert.DoesNotContain(filesAfter.Values, t => t == path);
        Assert.Equal(bytesBefore, NativeMemoryStatistics.LiveBytes);
        Assert.Equal(blocksBefore, NativeMemoryStatistics.LiveAllocations);
    }

    private static Task[] StartWorkers(Ring ring, int fd, OwnershipMemoryPool pool, byte[] content, Counters c, long limit, int seed) =>
        Enumerable.Range(0, Workers).Select(w => Task.Run(() => Worker(ring, fd, pool, content, c, limit, seed * 1000 + w))).ToArray();

    private static async Task Worker(Ring ring, int fd, OwnershipMemoryPool pool, byte[] content, Counters c, long limit, int seed)
    {
        var random = new Random(seed);
        while (Interlocked.Increment(ref c.Started) <= limit)
        {
            var kind = random.Next(100);
            var cancel = random.Next(100) < 2;
            try
            {
                if (kind < 70)
                {
                    var f = ring.Nop();
                    if (cancel) { Interlocked.Increment(ref c.CancelsRequested); _ = f.Cancel(); }
                    await f;
                    Interlocked.Increment(ref c.Nops);
                }
                else if (kind < 95)
                {
                    var block = random.Next(FileBlocks);
                    var f = ring.Read(fd, pool.Rent(), block * 4096L);
                    if (cancel) { Interlocked.Increment(ref c.CancelsRequested); _ = f.Cancel(); }
                    var (n, buffer) = await f;
                    if (n != 4096 || !buffer.Span.SequenceEqual(content.AsSpan(block * 4096, 4096)))
                        Interlocked.Increment(ref c.Corruptions);
                    buffer.Dispose();
                    Interlocked.Increment(ref c.Reads);
                }
                else
                {
                    var f = ring.Timeout(TimeSpan.FromMicroseconds(random.Next(1, 300)));
                    if (random.Next(4) == 0) { Interlocked.Increment(ref c.CancelsRequested); _ = f.Cancel(); }
                    await f;
                    Interlocked.Increment(ref c.Timeouts);
                }
            }
            catch (RingDisposedException)
            {
                Interlocked.Increment(ref c.Disposed);
                if (ring.IsDisposed)
                    return;
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref c.Cancelled);
            }
        }
    }
}
