namespace Uring.Bench;

/// <summary>The façade's batch path (<see cref="RingBatch"/>): the C loop's shape — prepare a batch
/// of NOPs, one submit-and-wait, take the completions as a span — through the façade's checks and
/// bookkeeping, on a CallerThread ring.</summary>
internal sealed class BatchNop : INopCase
{
    private readonly Ring _ring;
    private readonly RingBatch _batch;
    private readonly BatchCompletion[] _completions;

    public BatchNop(int batchSize)
    {
        _ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread, Entries = 256 });
        _batch = _ring.CreateBatch(Math.Max(batchSize, 64));
        _completions = new BatchCompletion[batchSize];
    }

    public long Run(long goal)
    {
        var batch = _batch;
        var completions = _completions;
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

    public void Dispose()
    {
        _batch.Dispose();
        _ring.Dispose();
    }
}
