using System.Text;

namespace Uring.Tests;

/// <summary>Provided buffer rings and buffer-select receives over loopback TCP.</summary>
[Collection(SerialCollection.Name)] // measures process-wide native memory
public sealed class BufferRingTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private readonly Ring _ring = new();
    private readonly LoopbackConnections _net = new();

    public void Dispose()
    {
        _ring.Dispose();
        _net.Dispose();
    }

    private static Task<T> Bounded<T>(CancelableFuture<T> f) => f.AsTask().WaitAsync(Limit);

    internal static async Task Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not become true in time");
            await Task.Delay(10);
        }
    }

    private static void Send(int fd, string text) => Native.WriteAll(fd, Encoding.ASCII.GetBytes(text));

    [Fact]
    public async Task A_buffer_select_receive_leases_the_kernels_buffer_and_Dispose_returns_it()
    {
        using var buffers = _ring.CreateBufferRing(8, 1024);
        Assert.Equal(8, buffers.KernelAvailable());
        var (client, server) = await _net.ConnectAsync(_ring);

        var recv = _ring.ReceiveProvided(server, buffers);
        Send(client, "provided");
        var lease = await Bounded(recv);
        Assert.False(lease.IsEndOfStream);
        Assert.Equal("provided", Encoding.ASCII.GetString(lease.Span));
        Assert.Equal(1024, lease.Memory!.Length);
        Assert.Equal(OwnershipState.User, lease.Memory.State);
        Assert.Equal(1, buffers.Leased);
        Assert.Equal(7, buffers.KernelAvailable()); // the kernel's own count

        // While an operation has the leased buffer, the lease cannot be given back; an operation
        // that fails (here: cancelled) releases the buffer itself — back to the ring.
        var (other, otherServer) = await _net.ConnectAsync(_ring);
        var recv2 = _ring.ReceiveProvided(otherServer, buffers);
        Send(other, "second");
        var second = await Bounded(recv2);
        var pending = _ring.Receive(otherServer, second.Memory!); // nothing more will arrive
        Assert.Throws<BufferBusyException>(() => second.Dispose());
        Assert.Equal(2, buffers.Leased);
        await pending.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Bounded(pending));
        Assert.Equal(1, buffers.Leased);
        second.Dispose(); // the owner's using block after the façade's release: a no-op, once
        Assert.Throws<ObjectDisposedException>(() => second.Dispose());

        var memory = lease.Memory;
        lease.Dispose();
        Assert.Equal(0, buffers.Leased);
        Assert.Equal(8, buffers.KernelAvailable());
        Assert.Equal(OwnershipState.Pooled, memory.State);
        Assert.Throws<ObjectDisposedException>(() => memory.Span.Clear());   // the ring's again
        Assert.Throws<ObjectDisposedException>(() => lease.Dispose());         // a second Dispose of the same lease

        // End of stream: no buffer is taken.
        var eof = _ring.ReceiveProvided(server, buffers);
        _net.Close(client);
        var end = await Bounded(eof);
        Assert.True(end.IsEndOfStream);
        Assert.Equal(0, buffers.Leased);
    }

    [Fact]
    public async Task A_lease_the_facade_released_after_a_failed_operation_is_disposed_once_without_error()
    {
        using var buffers = _ring.CreateBufferRing(4, 256);
        var (client, server) = await _net.ConnectAsync(_ring);
        var recv = _ring.ReceiveProvided(server, buffers);
        Send(client, "data");
        var lease = await Bounded(recv);
        // A send of the leased bytes that fails (a pipe is not a socket): the façade releases the
        // buffer after the CQE — back to the ring — as it does for OwnershipMemory.
        var (r, w) = Native.Pipe();
        try
        {
            var e = await Assert.ThrowsAsync<UringIOException>(() => Bounded(_ring.Send(w, lease.Memory!, lease.Length)));
            Assert.Equal("ENOTSOCK", e.ErrnoName);
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
        Assert.Equal(0, buffers.Leased);
        lease.Dispose(); // the owner's using block: a no-op, once
        Assert.Throws<ObjectDisposedException>(() => lease.Dispose());
        Assert.Equal(4, buffers.KernelAvailable());
    }

    [Fact]
    public async Task Many_idle_connections_with_pending_buffer_select_receives_hold_no_buffer_memory()
    {
        const int Connections = 128, BufferSize = 16 * 1024;
        using var buffers = _ring.CreateBufferRing(8, BufferSize);
        var pairs = new List<(int Client, int Server)>();
        for (var i = 0; i < Connections; i++)
            pairs.Add(await _net.ConnectAsync(_ring));
        // Warm the ring's per-slot scratch space so that it does not count below.
        var warm = Enumerable.Range(0, Connections + 8).Select(_ => _ring.Timeout(TimeSpan.FromMilliseconds(1))).ToList();
        foreach (var w in warm)
            await w;

        var bytesBefore = NativeMemoryStatistics.LiveBytes;
        var pending = pairs.Select(p => _ring.ReceiveProvided(p.Server, buffers)).ToList();
        await Eventually(() => _ring.InFlight == Connections); // every receive has reached the kernel and waits on its socket
        await Task.Delay(50);
        var growth = NativeMemoryStatistics.LiveBytes - bytesBefore;
        Assert.Equal(8, buffers.KernelAvailable());        // the kernel has picked none of the buffers
        Assert.Equal(0, buffers.Leased);
        Assert.True(growth < BufferSize, $"{Connections} pending receives grew native memory by {growth} bytes");

        // The same receives with their own buffers would hold Connections x BufferSize bytes.
        // Data on one connection takes exactly one buffer.
        Send(pairs[77].Client, "wake");
        var lease = await Bounded(pending[77]);
        Assert.Equal("wake", Encoding.ASCII.GetString(lease.Span));
        Assert.Equal(7, buffers.KernelAvailable());
        lease.Dispose();
        Assert.Equal(8, buffers.KernelAvailable());

        foreach (var (p, i) in pending.Select((p, i) => (p, i)))
        {
            if (i == 77)
                continue;
            await p.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Bounded(p));
        }
        Assert.Equal(0, buffers.Leased);
    }

    [Fact]
    public async Task An_empty_ring_fails_a_one_shot_receive_with_ENOBUFS_and_WaitForBuffer_signals_the_return()
    {
        using var buffers = _ring.CreateBufferRing(2, 64);
        var (client, server) = await _net.ConnectAsync(_ring);
        var held = new List<ProvidedBuffer>();
        for (var i = 0; i < 2; i++)
        {
            var r = _ring.ReceiveProvided(server, buffers);
            Send(client, $"m{i}");
            held.Add(await Bounded(r));
        }
        Assert.Equal(0, buffers.KernelAvailable());
        var waiting = buffers.WaitForBufferAsync();
        Assert.False(waiting.IsCompleted);

        var starved = _ring.ReceiveProvided(server, buffers);
        Send(client, "m2");
        var e = await Assert.ThrowsAsync<UringIOException>(() => Bounded(starved));
        Assert.Equal(105, e.Errno); // ENOBUFS
        Assert.Equal(1, buffers.EnobufsCount);

        held[0].Dispose();
        await waiting.WaitAsync(Limit);
        var retry = await Bounded(_ring.ReceiveProvided(server, buffers));
        Assert.Equal("m2", Encoding.ASCII.GetString(retry.Span)); // nothing was lost
        retry.Dispose();
        held[1].Dispose();
        Assert.Equal(2, buffers.KernelAvailable());
    }

    [Fact]
    public async Task Disposed_together_with_the_ring_on_its_own_loop_thread_the_buffers_are_freed_after_the_shutdown()
    {
        var before = NativeMemoryStatistics.LiveBytes;
        var ring = new Ring();
        var buffers = ring.CreateBufferRing(4, 4096);
        var (_, server) = await _net.ConnectAsync(ring);
        var stream = ring.ReceiveMultishot(server, buffers).GetAsyncEnumerator();
        var next = stream.MoveNextAsync(); // armed: the kernel may pick a buffer at any time
        await Eventually(() => ring.InFlight == 1);

        var onLoop = await Task.Run(() => ring.InvokeOnOwnerThread(() =>
        {
            // On the loop thread: Dispose returns before the shutdown has run.
            ring.Dispose();
            buffers.Dispose();
            return ring.IsOwnerThread ? 1 : 0;
        })).WaitAsync(Limit);
        Assert.Equal(1, (int)onLoop);
        await Assert.ThrowsAsync<RingDisposedException>(() => next.AsTask().WaitAsync(Limit));
        await stream.DisposeAsync();
        await Eventually(() => NativeMemoryStatistics.LiveBytes == before); // ring and buffers, once the CQEs are in
    }

    [Fact]
    public async Task Disposing_the_buffer_ring_frees_its_memory_and_leased_buffers_on_return()
    {
        await _ring.Nop(); // the ring's first operation allocates its scratch space
        var before = NativeMemoryStatistics.LiveBytes;
        var buffers = _ring.CreateBufferRing(4, 4096);
        Assert.True(NativeMemoryStatistics.LiveBytes - before >= 4 * 4096);
        var (client, server) = await _net.ConnectAsync(_ring);
        var r = _ring.ReceiveProvided(server, buffers);
        Send(client, "x");
        var lease = await Bounded(r);
        buffers.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _ring.ReceiveProvided(server, buffers));
        Assert.Equal("x", Encoding.ASCII.GetString(lease.Span)); // still readable: the lease owns it
        lease.Dispose();
        Assert.Equal(before, NativeMemoryStatistics.LiveBytes);
    }
}
