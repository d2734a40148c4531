namespace Uring.Tests;

/// <summary>No fd and no native memory outlives the socket features that used them.</summary>
[Collection(SerialCollection.Name)] // counts process-wide fds and native memory
public sealed class SocketResourceTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Multishot_accept_and_receive_leave_no_fd_and_no_native_memory_behind()
    {
        var fdsBefore = Native.OpenFileCount();
        var bytesBefore = NativeMemoryStatistics.LiveBytes;
        using (var ring = new Ring())
        using (var net = new LoopbackConnections())
        {
            var buffers = ring.CreateBufferRing(16, 1024);
            var accepted = new List<int>();
            var stream = ring.AcceptMultishot(net.Listener).GetAsyncEnumerator();
            var clients = new List<int>();
            for (var i = 0; i < 40; i++)
            {
                var c = net.Track(NetSocket.OpenTcp());
                await ring.Connect(c, net.EndPoint).AsTask().WaitAsync(Limit);
                clients.Add(c);
            }
            for (var i = 0; i < 20; i++) // consume half; the kernel accepts the rest into the stream's queue
            {
                Assert.True(await stream.MoveNextAsync().AsTask().WaitAsync(Limit));
                accepted.Add(stream.Current);
            }

            // Idle connections, each with a multishot receive armed: no buffer is taken.
            var receivers = accepted.Select(fd => ring.ReceiveMultishot(fd, buffers).GetAsyncEnumerator()).ToList();
            var firsts = receivers.Select(r => r.MoveNextAsync().AsTask()).ToList();
            await BufferRingTests.Eventually(() => ring.InFlight == 21); // 20 receives + the accept
            Assert.Equal(16, buffers.KernelAvailable());

            Native.WriteAll(clients[3], "ping"u8);
            Assert.True(await firsts[3].WaitAsync(Limit));
            Assert.Equal(15, buffers.KernelAvailable());
            receivers[3].Current.Dispose();

            foreach (var r in receivers)
                await r.DisposeAsync().AsTask().WaitAsync(Limit);
            await stream.DisposeAsync().AsTask().WaitAsync(Limit);
            Assert.Equal(0, ring.InFlight);
            Assert.Equal(16, buffers.KernelAvailable());
            foreach (var f in firsts.Where((_, i) => i != 3))
                Assert.False(await f.WaitAsync(Limit)); // a pending MoveNextAsync ends with false when the stream is disposed
            foreach (var fd in accepted)
                NetSocket.Close(fd);
            buffers.Dispose();
        }
        Assert.Equal(fdsBefore, Native.OpenFileCount());
        Assert.Equal(bytesBefore, NativeMemoryStatistics.LiveBytes);
    }
}
