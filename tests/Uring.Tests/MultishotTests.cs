using System.Text;

namespace Uring.Tests;

/// <summary>Multishot accept and multishot receive as async streams, over loopback TCP.</summary>
public sealed class MultishotTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);
    private readonly Ring _ring = new();
    private readonly LoopbackConnections _net = new();

    public void Dispose()
    {
        _ring.Dispose();
        _net.Dispose();
    }

    private static byte Pattern(long i) => (byte)(i * 31 + (i >> 8));

    [Fact]
    public async Task Multishot_receive_with_a_tiny_ring_hits_ENOBUFS_rearms_and_delivers_every_byte_in_order()
    {
        const int Total = 256 * 1024;
        using var buffers = _ring.CreateBufferRing(4, 64);
        var (client, server) = await _net.ConnectAsync(_ring);

        var sender = Task.Run(() =>
        {
            var data = new byte[Total];
            for (var i = 0; i < Total; i++)
                data[i] = Pattern(i);
            for (var off = 0; off < Total; off += 4000)
                Native.WriteAll(client, data.AsSpan(off, Math.Min(4000, Total - off)));
            _net.Close(client); // end of stream
        });

        using var cts = new CancellationTokenSource(Limit);
        var stream = _ring.ReceiveMultishot(server, buffers).GetAsyncEnumerator(cts.Token);
        long received = 0;
        var mismatches = 0;
        var held = new List<ProvidedBuffer>();
        var starvedRounds = 0;
        try
        {
            while (await stream.MoveNextAsync())
            {
                var lease = stream.Current;
                foreach (var b in lease.Span)
                    if (b != Pattern(received++))
                        mismatches++;
                held.Add(lease);
                if (held.Count == buffers.Count)
                {
                    // Every buffer is leased: the kernel has nowhere to put the next bytes. For the
                    // first rounds, hold them long enough for it to end the multishot with ENOBUFS.
                    if (starvedRounds++ < 5)
                        await Task.Delay(30);
                    foreach (var h in held)
                        h.Dispose();
                    held.Clear();
                }
            }
        }
        finally
        {
            foreach (var h in held)
                h.Dispose();
            await stream.DisposeAsync();
        }
        await sender.WaitAsync(Limit);

        Assert.Equal(Total, received);
        Assert.Equal(0, mismatches);
        Assert.True(buffers.EnobufsCount >= 1, "the ring never ran dry");
        Assert.True(((MultishotStream<ProvidedBuffer>)stream).Armings >= 2, "the multishot was never re-armed");
        Assert.Equal(0, buffers.Leased);
        Assert.Equal(buffers.Count, buffers.KernelAvailable());
    }

    [Fact]
    public async Task Multishot_receive_re_arms_when_a_lease_comes_back_between_the_kernels_ENOBUFS_and_the_stream_parking()
    {
        // Regression test for a lost wake-up. The consumer runs inline on the loop thread (no
        // synchronization context; the ring runs continuations inline), so it sees each lease
        // while the loop is still dispatching the batch of CQEs that delivered it. When the ring
        // runs dry, the CQE that lends its last buffer and the ENOBUFS CQE that ends the
        // multishot arrive in the same batch: the consumer returns its oldest lease in between
        // and waits for the next item holding the other Count - 1. When the ENOBUFS CQE is
        // dispatched, a buffer is already back in the ring and no other return is coming: the
        // stream must re-arm at once rather than wait for "the next return" (it used to wait
        // whenever any lease was outstanding, and hung here in most runs).
        const int Total = 64 * 64;
        using var buffers = _ring.CreateBufferRing(4, 64);
        var (client, server) = await _net.ConnectAsync(_ring);
        var data = new byte[Total];
        for (var i = 0; i < Total; i++)
            data[i] = Pattern(i);

        var (received, mismatches) = await Task.Run(async () =>
        {
            using var cts = new CancellationTokenSource(Limit);
            var stream = _ring.ReceiveMultishot(server, buffers).GetAsyncEnumerator(cts.Token);
            var held = new Queue<ProvidedBuffer>();
            long n = 0;
            var bad = 0;
            try
            {
                var next = stream.MoveNextAsync(); // arms the receive and waits: the CQEs find the consumer waiting
                Native.WriteAll(client, data);
                _net.Close(client); // end of stream
                while (await next)
                {
                    var lease = stream.Current;
                    foreach (var b in lease.Span)
                        if (b != Pattern(n++))
                            bad++;
                    held.Enqueue(lease);
                    if (held.Count == buffers.Count)
                        held.Dequeue().Dispose(); // keep Count - 1 leases while waiting
                    next = stream.MoveNextAsync();
                }
            }
            finally
            {
                while (held.TryDequeue(out var h))
                    h.Dispose();
                await stream.DisposeAsync();
            }
            return (n, bad);
        });

        Assert.Equal(Total, received);
        Assert.Equal(0, mismatches);
        Assert.True(buffers.EnobufsCount >= 2, $"the ring ran dry {buffers.EnobufsCount} time(s)");
        Assert.Equal(0, buffers.Leased);
        Assert.Equal(buffers.Count, buffers.KernelAvailable());
    }

    [Fact]
    public async Task Breaking_out_of_a_multishot_receive_cancels_it_and_returns_unconsumed_buffers()
    {
        using var buffers = _ring.CreateBufferRing(16, 128);
        var (client, server) = await _net.ConnectAsync(_ring);
        var seen = 0;
        Native.WriteAll(client, "first"u8);
        await foreach (var lease in _ring.ReceiveMultishot(server, buffers).WithCancellation(new CancellationTokenSource(Limit).Token))
        {
            using (lease)
            {
                if (seen++ == 0)
                {
                    // Queue more messages behind this one, then stop reading.
                    for (var i = 0; i < 5; i++)
                    {
                        Native.WriteAll(client, Encoding.ASCII.GetBytes(new string('x', 100)));
                        await Task.Delay(5);
                    }
                    await Task.Delay(100);
                    break;
                }
            }
        }
        Assert.Equal(1, seen);
        Assert.Equal(0, buffers.Leased);
        Assert.Equal(0, _ring.InFlight);
        Assert.Equal(16, buffers.KernelAvailable());
    }

    [Fact]
    public async Task Multishot_accept_yields_every_connection_and_stops_cleanly_when_cancelled()
    {
        using var cts = new CancellationTokenSource();
        var stream = _ring.AcceptMultishot(_net.Listener).GetAsyncEnumerator(cts.Token);
        var clients = new List<int>();
        var accepted = new List<int>();
        try
        {
            var first = stream.MoveNextAsync();
            for (var i = 0; i < 3; i++)
            {
                var c = _net.Track(NetSocket.OpenTcp());
                await _ring.Connect(c, _net.EndPoint).AsTask().WaitAsync(Limit);
                clients.Add(c);
            }
            Assert.True(await first.AsTask().WaitAsync(Limit));
            accepted.Add(_net.Track(stream.Current));
            for (var i = 1; i < 3; i++)
            {
                Assert.True(await stream.MoveNextAsync().AsTask().WaitAsync(Limit));
                accepted.Add(_net.Track(stream.Current));
            }
            Assert.Equal(3, accepted.Distinct().Count());
            Assert.Equal(NetSocket.GetLocalEndPoint(clients[2]), NetSocket.GetRemoteEndPoint(accepted[2]));

            // Two more connections are accepted by the kernel but never consumed.
            var late = new List<int>();
            for (var i = 0; i < 2; i++)
            {
                var c = _net.Track(NetSocket.OpenTcp());
                await _ring.Connect(c, _net.EndPoint).AsTask().WaitAsync(Limit);
                late.Add(c);
            }
            await Task.Delay(100);
            Assert.Equal(1, _ring.InFlight); // still one armed request

            var pending = stream.MoveNextAsync(); // nothing queued? it completes at once with a queued one
            Assert.True(await pending.AsTask().WaitAsync(Limit));
            accepted.Add(_net.Track(stream.Current));

            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream.MoveNextAsync().AsTask().WaitAsync(Limit));
            await stream.DisposeAsync().AsTask().WaitAsync(Limit);
            Assert.Equal(0, _ring.InFlight); // the kernel request is gone

            // The unconsumed connection was closed by the stream: its client reads end of stream.
            using var buffer = OwnershipMemory.Allocate(8);
            var (eof, _) = await _ring.Receive(late[1], buffer).AsTask().WaitAsync(Limit);
            Assert.Equal(0, eof);
        }
        finally
        {
            await stream.DisposeAsync();
        }
    }

    [Fact]
    public async Task Multishot_receive_ends_at_end_of_stream_and_on_ring_disposal()
    {
        using var buffers = _ring.CreateBufferRing(8, 256);
        var (client, server) = await _net.ConnectAsync(_ring);
        Native.WriteAll(client, "abc"u8);
        _net.Close(client);
        var text = new StringBuilder();
        await foreach (var lease in _ring.ReceiveMultishot(server, buffers))
            using (lease)
                text.Append(Encoding.ASCII.GetString(lease.Span));
        Assert.Equal("abc", text.ToString());

        var (_, idle) = await _net.ConnectAsync(_ring);
        var stream = _ring.ReceiveMultishot(idle, buffers).GetAsyncEnumerator();
        var next = stream.MoveNextAsync();
        await Task.Delay(50);
        _ring.Dispose();
        await Assert.ThrowsAsync<RingDisposedException>(() => next.AsTask().WaitAsync(Limit));
        await stream.DisposeAsync();
    }
}

/// <summary>How multishot streams end when their socket goes away.</summary>
public sealed class MultishotCloseTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private readonly Ring _ring = new();
    private readonly LoopbackConnections _net = new();

    public void Dispose()
    {
        _ring.Dispose();
        _net.Dispose();
    }

    [Fact]
    public async Task Disposing_the_buffer_ring_under_an_armed_multishot_receive_ends_it_instead_of_spinning()
    {
        var buffers = _ring.CreateBufferRing(4, 64);
        var (client, server) = await _net.ConnectAsync(_ring);
        var stream = _ring.ReceiveMultishot(server, buffers).GetAsyncEnumerator();
        var next = stream.MoveNextAsync();
        await BufferRingTests.Eventually(() => _ring.InFlight == 1); // armed
        buffers.Dispose();
        Native.WriteAll(client, "after"u8);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => next.AsTask().WaitAsync(Limit));
        await stream.DisposeAsync();
        Assert.Equal(0, _ring.InFlight);
    }

    [Fact]
    public async Task Shutting_down_the_listener_ends_a_multishot_accept()
    {
        var stream = _ring.AcceptMultishot(_net.Listener).GetAsyncEnumerator();
        var next = stream.MoveNextAsync();
        await Task.Delay(50);
        Assert.Equal(0, await _ring.Shutdown(_net.Listener, System.Net.Sockets.SocketShutdown.Both).AsTask().WaitAsync(Limit));
        var ended = await next.AsTask().WaitAsync(Limit);
        Assert.False(ended);
        await stream.DisposeAsync();
        Assert.Equal(0, _ring.InFlight);
    }
}
