using System.Diagnostics;

namespace Uring.Bench;

/// <summary>
/// The façade's side of the comparison: every operation is a <see cref="CancelableFuture{T}"/>
/// awaited by its own logical loop, the way applications use it. The loops start on the thread
/// pool; after their first await they continue inline on the ring's loop thread, where new
/// operations go straight into the SQ.
/// </summary>
internal static class FacadeBench
{
    public static async Task<IEnumerable<Measurement>> Reads(string file, int queueDepth, long total)
    {
        using var ring = new Ring(new RingOptions { Entries = 256 });
        using var pool = new OwnershipMemoryPool(DataFile.BlockSize, 4096, queueDepth);
        var fd = await ring.OpenAt(Ring.CurrentDirectory, file, OpenFlags.ReadOnly);
        try
        {
            var blocks = new FileInfo(file).Length / DataFile.BlockSize;
            await Warmup.RunAsync(() => RunReads(ring, pool, fd, blocks, queueDepth, total / 10));
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var clock = Stopwatch.StartNew();
            var done = await RunReads(ring, pool, fd, blocks, queueDepth, total);
            var seconds = clock.Elapsed.TotalSeconds;
            var bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
            return [new Measurement($"4 KiB random read, QD {queueDepth}", "C# façade (Ring.Read, pooled OwnershipMemory)", done, seconds, (double)bytes / done)];
        }
        finally
        {
            await ring.Close(fd);
        }
    }

    private static async Task<long> RunReads(Ring ring, OwnershipMemoryPool pool, int fd, long blocks, int queueDepth, long total)
    {
        var perLoop = total / queueDepth;
        static async Task Loop(Ring ring, OwnershipMemoryPool pool, int fd, long blocks, long count, int seed)
        {
            var random = new Random(seed);
            var buffer = pool.Rent();
            try
            {
                for (long i = 0; i < count; i++)
                {
                    var block = random.NextInt64(blocks);
                    var (read, _) = await ring.Read(fd, buffer, block * DataFile.BlockSize).ConfigureAwait(false);
                    DataFile.Verify(read, buffer.Span, block, i);
                }
            }
            finally
            {
                buffer.Dispose();
            }
        }
        await Task.WhenAll(Enumerable.Range(0, queueDepth).Select(i => Task.Run(() => Loop(ring, pool, fd, blocks, perLoop, i))));
        return perLoop * queueDepth;
    }
}

/// <summary>The façade as most code uses it: one <c>await</c> per NOP, <c>inFlight</c> async loops
/// started on the thread pool, continuations inline on the ring's loop thread.</summary>
internal sealed class FacadeNop(int inFlight) : INopCase
{
    private readonly Ring _ring = new(new RingOptions { Entries = 256 });

    public long Run(long total) => RunAsync(total).GetAwaiter().GetResult();

    private async Task<long> RunAsync(long total)
    {
        var perLoop = total / inFlight;
        static async Task Loop(Ring ring, long count)
        {
            for (long i = 0; i < count; i++)
            {
                if (await ring.Nop().ConfigureAwait(false) != 0)
                    throw new InvalidOperationException("NOP failed");
            }
        }
        var ring = _ring;
        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(_ => Task.Run(() => Loop(ring, perLoop))));
        return perLoop * inFlight;
    }

    public void Dispose() => _ring.Dispose();
}

