namespace Uring.Tests;

/// <summary>
/// The bounded multishot receive (<see cref="Ring.ReceiveMultishot(FileDescriptor, BufferRing, int, MessageFlags)"/>):
/// a consumer that falls behind pauses the kernel request; nothing received is lost or
/// reordered, no buffer leaks, and stopping or disposing in any state returns every buffer.
/// </summary>
public sealed class MultishotBackpressureTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);
    private readonly Ring _ring = new();
    private readonly LoopbackConnections _net = new();

    public void Dispose()
    {
        _ring.Dispose();
        _net.Dispose();
    }

    internal static byte Pattern(long i) => (byte)(i * 31 + (i >> 8));

    internal static byte[] PatternBytes(long from, int count)
    {
        var bytes = new byte[count];
        for (var i = 0; i < count; i++)
            bytes[i] = Pattern(from + i);
        return bytes;
    }

    private static MultishotStream<ProvidedBuffer> Open(Ring ring, int fd, BufferRing buffers, int maxQueued, CancellationToken token = default) =>
        (MultishotStream<ProvidedBuffer>)ring.ReceiveMultishot(fd, buffers, maxQueued).GetAsyncEnumerator(token);

    [Fact]
    public async Task A_consumer_that_falls_behind_pauses_the_receive_and_still_gets_every_byte_in_order()
    {
        const int Total = 512 * 1024, MaxQueued = 4;
        using var buffers = _ring.CreateBufferRing(64, 256);
        var (client, server) = await _net.ConnectAsync(_ring);
        var sender = Task.Run(() =>
        {
            for (var off = 0; off < Total; off += 8000)
                Native.WriteAll(client, PatternBytes(off, Math.Min(8000, Total - off)));
            _net.Close(client);
        });

        var stream = Open(_ring, server, buffers, MaxQueued, new CancellationTokenSource(Limit).Token);
        long received = 0;
        var mismatches = 0;
        var mostLeased = 0;
        var leases = 0;
        try
        {
            while (await stream.MoveNextAsync())
            {
                using var lease = stream.Current;
                mostLeased = Math.Max(mostLeased, buffers.Leased);
                foreach (var b in lease.Span)
                    if (b != Pattern(received++))
                        mismatches++;
                if (++leases % 16 == 0)
                    await Task.Delay(2); // slower than the sender: the queue fills up
            }
        }
        finally
        {
            await stream.DisposeAsync();
        }
        await sender.WaitAsync(Limit);

        Assert.Equal(Total, received);
        Assert.Equal(0, mismatches);
        Assert.True(stream.Pauses >= 2, $"the stream paused {stream.Pauses} time(s)");
        // The lease in hand, the bounded queue, and a CQE that was on its way when it filled up.
        Assert.True(mostLeased <= MaxQueued + 2, $"{mostLeased} buffers were leased at once");
        Assert.Equal(0, buffers.Leased);
        Assert.Equal(buffers.Count, buffers.KernelAvailable());
        await BufferRingTests.Eventually(() => _ring.InFlight == 0); // a pause's cancel may complete after the last CQE
    }

    [Fact]
    public async Task A_burst_fills_no_more_buffers_than_the_bound_even_before_the_consumer_reacts()
    {
        // 32 KiB wait in the socket before the receive is armed: without a byte limit per arming,
        // the kernel's first wake-up would fill every free buffer (up to 32) in one go.
        const int MaxQueued = 4;
        using var buffers = _ring.CreateBufferRing(64, 256);
        var (client, server) = await _net.ConnectAsync(_ring);
        Native.WriteAll(client, PatternBytes(0, 32 * 1024));

        var stream = Open(_ring, server, buffers, MaxQueued);
        try
        {
            Assert.True(await stream.MoveNextAsync().AsTask().WaitAsync(Limit));
            using var first = stream.Current; // held: the consumer does not ask for more
            await BufferRingTests.Eventually(() => stream.Pauses >= 1);
            await Task.Delay(100); // anything still coming would have come
            Assert.Equal(0, _ring.InFlight); // paused: nothing armed
            // The lease in hand and a full queue, at most (Linux 6.17+ honours the byte limit);
            // one fewer when the first CQE came before the consumer was waiting for it.
            if (!MultishotReceive.ByteLimitRefused)
                Assert.InRange(buffers.Leased, MaxQueued, 1 + MaxQueued);
            Assert.True(buffers.Leased < buffers.Count, $"the burst took {buffers.Leased} of {buffers.Count} buffers");
            Assert.True(first.Span.SequenceEqual(PatternBytes(0, first.Length)));
        }
        finally
        {
            await stream.DisposeAsync();
        }
        Assert.Equal(0, buffers.Leased);
        Assert.Equal(buffers.Count, buffers.KernelAvailable());
    }

    [Fact]
    public async Task An_unbounded_stream_under_the_same_burst_takes_far_more_buffers()
    {
        // The reference for the test above: the bound is what keeps the buffers.
        using var buffers = _ring.CreateBufferRing(64, 256);
        var (client, server) = await _net.ConnectAsync(_ring);
        Native.WriteAll(client, PatternBytes(0, 32 * 1024));
        var stream = Open(_ring, server, buffers, maxQueued: 0);
        try
        {
            Assert.True(await stream.MoveNextAsync().AsTask().WaitAsync(Limit));
            using var first = stream.Current;
            await BufferRingTests.Eventually(() => buffers.Leased >= 16);
            Assert.Equal(0, stream.Pauses);
        }
        finally
        {
            await stream.DisposeAsync();
        }
        Assert.Equal(0, buffers.Leased);
    }

    [Fact]
    public async Task A_consumer_that_keeps_up_never_pauses()
    {
        using var buffers = _ring.CreateBufferRing(16, 256);
        var (client, server) = await _net.ConnectAsync(_ring);
        var stream = Open(_ring, server, buffers, maxQueued: 2);
        try
        {
            for (var round = 0; round < 200; round++)
            {
                var next = stream.MoveNextAsync(); // asked before the data comes
                var message = PatternBytes(round, 100);
                Native.WriteAll(client, message);
                var got = new List<byte>();
                while (got.Count < message.Length)
                {
                    Assert.True(await next.AsTask().WaitAsync(Limit));
                    using (var lease = stream.Current)
                        got.AddRange(lease.Span.ToArray());
                    if (got.Count < message.Length)
                        next = stream.MoveNextAsync();
                }
                Assert.Equal(message, got);
            }
            Assert.Equal(0, stream.Pauses);
        }
        finally
        {
            await stream.DisposeAsync();
        }
        Assert.Equal(0, buffers.Leased);
    }

    [Fact]
    public async Task Cancelling_a_paused_stream_returns_every_queued_buffer()
    {
        using var buffers = _ring.CreateBufferRing(64, 256);
        var (client, server) = await _net.ConnectAsync(_ring);
        Native.WriteAll(client, PatternBytes(0, 32 * 1024));
        using var cts = new CancellationTokenSource();
        var stream = Open(_ring, server, buffers, maxQueued: 4, cts.Token);
        Assert.True(await stream.MoveNextAsync().AsTask().WaitAsync(Limit));
        var held = stream.Current;
        await BufferRingTests.Eventually(() => stream.Pauses >= 1);
        Assert.True(buffers.Leased > 1);

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream.MoveNextAsync().AsTask().WaitAsync(Limit));
        await stream.DisposeAsync().AsTask().WaitAsync(Limit);
        Assert.Equal(1, buffers.Leased); // only the lease the consumer still holds
        held.Dispose();
        Assert.Equal(0, buffers.Leased);
        Assert.Equal(buffers.Count, buffers.KernelAvailable());
        await BufferRingTests.Eventually(() => _ring.InFlight == 0);
    }

    [Fact]
    public async Task Disposing_the_ring_under_a_paused_stream_lets_the_consumer_drain_what_was_received_then_ends_it()
    {
        var ring = new Ring();
        var buffers = ring.CreateBufferRing(64, 256);
        try
        {
            var (client, server) = await _net.ConnectAsync(ring);
            Native.WriteAll(client, PatternBytes(0, 32 * 1024));
            var stream = Open(ring, server, buffers, maxQueued: 4);
            Assert.True(await stream.MoveNextAsync().AsTask().WaitAsync(Limit));
            long received = 0;
            var bad = 0;
            void Check(ProvidedBuffer lease)
            {
                foreach (var b in lease.Span)
                    if (b != Pattern(received++))
                        bad++;
                lease.Dispose();
            }
            Check(stream.Current);
            await BufferRingTests.Eventually(() => stream.Pauses >= 1);

            ring.Dispose();
            // What the kernel delivered before the pause is still the consumer's, in order; then
            // the stream reports the disposal instead of re-arming.
            var drained = 0;
            var ended = await Assert.ThrowsAsync<RingDisposedException>(async () =>
            {
                while (await stream.MoveNextAsync().AsTask().WaitAsync(Limit))
                {
                    Check(stream.Current);
                    drained++;
                }
            });
            Assert.True(drained >= 1, "the queued leases were lost");
            Assert.Equal(0, bad);
            await stream.DisposeAsync().AsTask().WaitAsync(Limit);
            Assert.Equal(0, buffers.Leased);
        }
        finally
        {
            ring.Dispose();
            buffers.Dispose();
        }
    }

    [Fact]
    public async Task A_ring_smaller_than_the_bound_runs_dry_waits_for_returns_and_delivers_every_byte()
    {
        const int Total = 64 * 1024;
        using var buffers = _ring.CreateBufferRing(4, 128);
        var (client, server) = await _net.ConnectAsync(_ring);
        var sender = Task.Run(() =>
        {
            Native.WriteAll(client, PatternBytes(0, Total));
            _net.Close(client);
        });
        var stream = Open(_ring, server, buffers, maxQueued: 16, new CancellationTokenSource(Limit).Token);
        var held = new Queue<ProvidedBuffer>();
        long received = 0;
        var bad = 0;
        try
        {
            while (await stream.MoveNextAsync())
            {
                var lease = stream.Current;
                foreach (var b in lease.Span)
                    if (b != Pattern(received++))
                        bad++;
                held.Enqueue(lease);
                if (held.Count == 3)
                    held.Dequeue().Dispose(); // hold most of the ring: the kernel meets ENOBUFS
            }
        }
        finally
        {
            while (held.TryDequeue(out var h))
                h.Dispose();
            await stream.DisposeAsync();
        }
        await sender.WaitAsync(Limit);
        Assert.Equal(Total, received);
        Assert.Equal(0, bad);
        Assert.True(buffers.EnobufsCount >= 1, "the ring never ran dry");
        Assert.Equal(0, buffers.Leased);
        Assert.Equal(buffers.Count, buffers.KernelAvailable());
    }

    [Fact]
    public async Task Stopping_at_random_points_of_pauses_and_re_arms_never_loses_a_buffer_or_reorders_bytes()
    {
        using var buffers = _ring.CreateBufferRing(32, 128);
        var rnd = new Random(12345);
        for (var round = 0; round < 30; round++)
        {
            var (client, server) = await _net.ConnectAsync(_ring);
            var total = rnd.Next(1, 40) * 1024; // fits in the socket buffers: the sender never blocks
            Native.WriteAll(client, PatternBytes(0, total));
            _net.Close(client); // the stream ends at the end of the data, if the consumer gets that far
            using var cts = new CancellationTokenSource();
            var stream = Open(_ring, server, buffers, maxQueued: rnd.Next(1, 6), cts.Token);
            var stopAfter = rnd.Next(0, 40);
            var byToken = rnd.Next(2) == 0;
            long received = 0;
            var bad = 0;
            var taken = 0;
            try
            {
                while (taken < stopAfter && await stream.MoveNextAsync().AsTask().WaitAsync(Limit))
                {
                    using var lease = stream.Current;
                    foreach (var b in lease.Span)
                        if (b != Pattern(received++))
                            bad++;
                    taken++;
                    if (rnd.Next(4) == 0)
                        await Task.Delay(rnd.Next(0, 3)); // sometimes behind: pauses
                }
                if (byToken)
                    cts.Cancel(); // while armed, pausing, paused or re-arming
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                await stream.DisposeAsync().AsTask().WaitAsync(Limit);
            }
            Assert.Equal(0, bad);
            Assert.True(received <= total);
            Assert.Equal(0, buffers.Leased);
            // A pause's cancel may complete just after the stream's last CQE.
            await BufferRingTests.Eventually(() => _ring.InFlight == 0);
            _net.Close(server);
        }
        Assert.Equal(buffers.Count, buffers.KernelAvailable());
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        using var buffers = _ring.CreateBufferRing(4, 128);
        Assert.Throws<ArgumentOutOfRangeException>(() => _ring.ReceiveMultishot(_net.Listener, buffers, -1));
        var e = Assert.Throws<ArgumentException>(() => _ring.ReceiveMultishot(_net.Listener, buffers, 4, MessageFlags.WaitAll));
        Assert.Equal("flags", e.ParamName);
    }
}

/// <summary>The bounded receive on a kernel that refuses the per-arming byte limit (before 6.17), simulated.</summary>
[Collection(SerialCollection.Name)] // flips a process-wide switch: nothing else may run meanwhile
public sealed class MultishotBackpressureFallbackTests
{
    [Fact]
    public async Task Without_the_kernels_byte_limit_the_cancel_alone_keeps_the_stream_correct()
    {
        var saved = MultishotReceive.ByteLimitRefused;
        MultishotReceive.ByteLimitRefused = true;
        using var ring = new Ring();
        using var net = new LoopbackConnections();
        try
        {
            const int Total = 256 * 1024;
            using var buffers = ring.CreateBufferRing(64, 256);
            var (client, server) = await net.ConnectAsync(ring);
            var sender = Task.Run(() =>
            {
                Native.WriteAll(client, MultishotBackpressureTests.PatternBytes(0, Total));
                net.Close(client);
            });
            var stream = (MultishotStream<ProvidedBuffer>)ring.ReceiveMultishot(server, buffers, 4).GetAsyncEnumerator(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
            long received = 0;
            var bad = 0;
            var leases = 0;
            try
            {
                while (await stream.MoveNextAsync())
                {
                    using var lease = stream.Current;
                    foreach (var b in lease.Span)
                        if (b != MultishotBackpressureTests.Pattern(received++))
                            bad++;
                    if (++leases % 16 == 0)
                        await Task.Delay(2);
                }
            }
            finally
            {
                await stream.DisposeAsync();
            }
            await sender.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(Total, received);
            Assert.Equal(0, bad);
            Assert.True(stream.Pauses >= 1, "the stream never paused");
            Assert.Equal(0, buffers.Leased);
            Assert.Equal(buffers.Count, buffers.KernelAvailable());
        }
        finally
        {
            MultishotReceive.ByteLimitRefused = saved;
        }
    }
}
