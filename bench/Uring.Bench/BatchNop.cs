using System.Diagnostics;

namespace Uring.Bench;

/// <summary>The façade's batch path (<see cref="RingBatch"/>): the C loop's shape — prepare a batch
/// of NOPs, one submit-and-wait, take the completions as a span — through the façade's checks and
/// bookkeeping, on a CallerThread ring.</summary>
internal static class BatchNop
{
    public static Measurement Run(int batchSize, long total)
    {
        using var ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread, Entries = 256 });
        using var batch = ring.CreateBatch(Math.Max(batchSize, 64));
        var completions = new BatchCompletion[batchSize];
        var warm = Stopwatch.StartNew(); // see Warmup: about a second, so the JIT reaches its optimised tier
        for (var pass = 0; pass < 8 && (pass == 0 || warm.Elapsed.TotalSeconds < 1); pass++)
            Loop(batch, completions, total / 10);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var done = Loop(batch, completions, total);
        var seconds = clock.Elapsed.TotalSeconds;
        var bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        return new Measurement($"NOP, batch {batchSize}", "C# façade, RingBatch (no future per op)", done, seconds, (double)bytes / done);
    }

    private static long Loop(RingBatch batch, BatchCompletion[] completions, long goal)
    {
        var size = completions.Length;
        long done;
        for (done = 0; done < goal; done += size)
        {
            for (var i = 0; i < size; i++)
                batch.Nop((ulong)(done + i));
            var seen = 0;
            while (seen < size)
            {
                var n = batch.Complete(completions.AsSpan(seen), size - seen);
                for (var i = seen; i < seen + n; i++)
                {
                    if (completions[i].Result != 0)
                        throw new InvalidOperationException($"nop failed: {completions[i].Result}");
                }
                seen += n;
            }
        }
        return done;
    }
}
