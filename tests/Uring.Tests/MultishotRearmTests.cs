using Uring.Bindings;

namespace Uring.Tests;

/// <summary>
/// The re-arm machinery of multishot streams, driven by real CQEs that never carry
/// IORING_CQE_F_MORE: a stream over IORING_OP_NOP, whose every CQE "ends the multishot", so the
/// stream must re-arm after each one (what it does when the kernel ends a multishot accept or
/// receive early).
/// </summary>
public sealed class MultishotRearmTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private readonly Ring _ring = new();

    public void Dispose() => _ring.Dispose();

    private sealed unsafe class RearmingNop(Ring ring, int limit, CancellationToken token) : MultishotStream<int>(ring, io_uring_op.IORING_OP_NOP, 0, token)
    {
        private int _completions;

        public int Released;

        internal override void Prepare(io_uring_sqe* sqe) => Liburing.io_uring_prep_nop(sqe);

        protected override MultishotNext OnCompletion(int res, uint flags, bool last, out Exception? error)
        {
            error = null;
            Assert.True(last, "a NOP's CQE never carries IORING_CQE_F_MORE");
            Assert.Equal(0u, flags & Constants.IORING_CQE_F_MORE);
            Deliver(++_completions);
            return limit > 0 && _completions >= limit ? MultishotNext.End : MultishotNext.Rearm;
        }

        protected override void Release(int item) => Interlocked.Increment(ref Released);
    }

    [Fact]
    public async Task A_last_CQE_without_F_MORE_re_arms_the_operation_until_it_ends()
    {
        var stream = new RearmingNop(_ring, 5, default);
        var seen = new List<int>();
        while (await stream.MoveNextAsync().AsTask().WaitAsync(Limit))
            seen.Add(stream.Current);
        await stream.DisposeAsync();
        Assert.Equal([1, 2, 3, 4, 5], seen);
        Assert.Equal(5, stream.Armings);
        Assert.Equal(0, _ring.InFlight);
    }

    [Fact]
    public async Task Cancelling_a_stream_that_keeps_re_arming_stops_it_and_releases_what_was_not_consumed()
    {
        using var cts = new CancellationTokenSource();
        var stream = new RearmingNop(_ring, 0, cts.Token); // re-arms forever
        Assert.True(await stream.MoveNextAsync().AsTask().WaitAsync(Limit));
        await BufferRingTests.Eventually(() => stream.Armings > 50); // items pile up unconsumed
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream.MoveNextAsync().AsTask().WaitAsync(Limit));
        await stream.DisposeAsync().AsTask().WaitAsync(Limit);
        await BufferRingTests.Eventually(() => _ring.InFlight == 0); // the stop's cancel may complete after the stream's last CQE
        var armings = stream.Armings;
        Assert.True(stream.Released >= armings - 2, $"{stream.Released} of {armings} unconsumed items released"); // all but the consumed one (and a last one delivered after the stop)
        await Task.Delay(50);
        Assert.Equal(armings, stream.Armings); // no re-arm after the stop
    }
}
