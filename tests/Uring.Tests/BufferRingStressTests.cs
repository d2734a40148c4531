namespace Uring.Tests;

/// <summary>One small buffer ring shared by several multishot receives whose consumers run on the thread pool.</summary>
public sealed class BufferRingStressTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly Ring _ring = new(new RingOptions { RunContinuationsAsynchronously = true });
    private readonly LoopbackConnections _net = new();

    public void Dispose()
    {
        _ring.Dispose();
        _net.Dispose();
    }

    private static byte Pattern(int connection, long i) => (byte)(i * 7 + connection * 13 + (i >> 10));

    [Fact]
    public async Task Shared_ring_many_streams_leases_returned_from_pool_threads_every_byte_in_order()
    {
        const int Connections = 8, PerConnection = 128 * 1024;
        using var buffers = _ring.CreateBufferRing(16, 256);
        var pairs = new List<(int Client, int Server)>();
        for (var c = 0; c < Connections; c++)
            pairs.Add(await _net.ConnectAsync(_ring));

        var senders = pairs.Select((p, c) => Task.Run(() =>
        {
            var data = new byte[PerConnection];
            for (var i = 0; i < data.Length; i++)
                data[i] = Pattern(c, i);
            var rnd = new Random(c);
            for (var off = 0; off < data.Length;)
            {
                var n = Math.Min(rnd.Next(1, 3000), data.Length - off);
                Native.WriteAll(p.Client, data.AsSpan(off, n));
                off += n;
            }
            _net.Close(p.Client);
        })).ToList();

        using var cts = new CancellationTokenSource(Limit);
        var consumers = pairs.Select((p, c) => Task.Run(async () =>
        {
            long received = 0, bad = 0;
            await foreach (var lease in _ring.ReceiveMultishot(p.Server, buffers).WithCancellation(cts.Token))
            {
                foreach (var b in lease.Span)
                    if (b != Pattern(c, received++))
                        bad++;
                if (received % 7 == 0)
                    await Task.Yield(); // return the lease from another pool thread
                lease.Dispose();
            }
            return (received, bad);
        })).ToList();

        await Task.WhenAll(senders).WaitAsync(Limit);
        var results = await Task.WhenAll(consumers).WaitAsync(Limit);
        Assert.All(results, r => Assert.Equal(PerConnection, r.received));
        Assert.All(results, r => Assert.Equal(0, r.bad));
        Assert.Equal(0, buffers.Leased);
        Assert.Equal(16, buffers.KernelAvailable());
    }
}
