namespace Uring.Tests;

/// <summary>IORING_OP_SEND_ZC: the buffer comes back only with the notification CQE.</summary>
public sealed class ZeroCopySendTests : IDisposable
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
    public async Task Zero_copy_send_returns_the_buffer_only_after_the_notification()
    {
        var (client, server) = await _net.ConnectAsync(_ring);
        const int Size = 64 * 1024;
        using var buffer = OwnershipMemory.Allocate(Size);
        for (var i = 0; i < Size; i++)
            buffer.Span[i] = (byte)(i % 251);

        var reader = Task.Run(() =>
        {
            var got = new byte[Size];
            var n = 0;
            while (n < Size)
            {
                var r = Native.ReadSome(server, got.AsSpan(n));
                if (r == 0)
                    break;
                n += r;
            }
            return got[..n];
        });

        for (var round = 1; round <= 3; round++)
        {
            var part = round == 1 ? buffer : buffer.Slice((round - 1) * Size / 4, Size / 4);
            var send = _ring.SendZeroCopy(client, part, Size / 4);
            var (sent, back) = await send.AsTask().WaitAsync(Limit);
            Assert.Equal(Size / 4, sent);
            Assert.Same(part, back);
            Assert.Equal(OwnershipState.User, buffer.State);
            // Both CQEs arrived, and at the first one the buffer was still the kernel's.
            Assert.Equal(round, _ring.ZeroCopySendCompletions);
            Assert.Equal(round, _ring.ZeroCopyNotifications);
            Assert.Equal(round, _ring.ZeroCopyBuffersHeldPastSendCompletion);
        }
        var (last, _) = await _ring.SendZeroCopy(client, buffer.Slice(3 * Size / 4, Size / 4)).AsTask().WaitAsync(Limit);
        Assert.Equal(Size / 4, last);

        var received = await reader.WaitAsync(Limit);
        Assert.Equal(Size, received.Length);
        Assert.True(received.AsSpan().SequenceEqual(buffer.Span));
    }

    [Fact]
    public async Task A_failed_zero_copy_send_fails_the_future_and_releases_the_buffer()
    {
        var (client, server) = await _net.ConnectAsync(_ring);
        await _ring.Shutdown(client, System.Net.Sockets.SocketShutdown.Send).AsTask().WaitAsync(Limit);
        var pool = new OwnershipMemoryPool(4096);
        var buffer = pool.Rent();
        var e = await Assert.ThrowsAsync<UringIOException>(() => _ring.SendZeroCopy(client, buffer).AsTask().WaitAsync(Limit));
        Assert.Equal(32, e.Errno); // EPIPE
        Assert.Equal(1, pool.ReturnCount); // released by the façade once the kernel was done with it
        pool.Dispose();
        _ = server;
    }
}
