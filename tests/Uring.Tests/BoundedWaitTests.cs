using System.Text;

namespace Uring.Tests;

/// <summary>
/// Bounded waits on futures: <see cref="CancelableFuture{T}.WaitAsync(TimeSpan)"/> abandons the
/// wait and leaves the operation running, releasing whatever it holds or produces when it ends;
/// <see cref="CancelableFuture{T}.TimeoutAfter"/> cancels the operation in the kernel and
/// completes with its CQE.
/// </summary>
public sealed class BoundedWaitTests : IDisposable
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
    public async Task WaitAsync_returns_the_result_when_the_operation_finishes_in_time()
    {
        var (r, w) = Native.Pipe();
        try
        {
            using var buffer = OwnershipMemory.Allocate(16);
            var wait = _ring.Read(r, buffer, length: 2).WaitAsync(Limit);
            Native.WriteAll(w, "ok"u8);
            var (n, back) = await wait;
            Assert.Equal(2, n);
            Assert.Same(buffer, back);
            Assert.Equal(OwnershipState.User, buffer.State);
            Assert.Equal(42, await _ring.Nop().WaitAsync(Limit) + 42); // an already-completed future too
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public async Task A_timed_out_WaitAsync_leaves_the_read_running_and_its_buffer_returns_to_the_pool_at_the_CQE()
    {
        var (r, w) = Native.Pipe();
        using var pool = new OwnershipMemoryPool(64, 64);
        try
        {
            var buffer = pool.Rent();
            var read = _ring.Read(r, buffer, length: 5);
            var e = await Assert.ThrowsAsync<TimeoutException>(() => read.WaitAsync(TimeSpan.FromMilliseconds(50)));
            Assert.Contains("abandoned", e.Message);

            // The kernel still has the buffer; the owner's using-dispose is a no-op instead of BufferBusyException.
            Assert.Equal(OwnershipState.Kernel, buffer.State);
            buffer.Dispose();
            Assert.Equal(0, pool.ReturnCount);

            // The read was not cancelled: it takes the next bytes, and then the buffer goes back to its pool.
            Native.WriteAll(w, "hello"u8);
            await BufferRingTests.Eventually(() => pool.ReturnCount == 1);
            Assert.Equal(OwnershipState.Pooled, buffer.State);
            Assert.Equal(1, pool.IdleCount);
            var rest = new byte[8];
            Native.WriteAll(w, "!"u8);
            Assert.Equal(1, Native.ReadSome(r, rest)); // "hello" went to the abandoned read
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public async Task A_cancelled_WaitAsync_abandons_the_wait_with_OperationCanceledException()
    {
        var (r, w) = Native.Pipe();
        try
        {
            var buffer = OwnershipMemory.Allocate(8);
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(30));
            var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _ring.Read(r, buffer).WaitAsync(cts.Token));
            Assert.Equal(cts.Token, e.CancellationToken);
            Native.WriteAll(w, "x"u8);
            await BufferRingTests.Eventually(() => buffer.State == OwnershipState.Released); // freed after the CQE
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public async Task An_abandoned_accept_closes_the_connection_it_accepts_later()
    {
        var accept = _ring.Accept(_net.Listener);
        await Assert.ThrowsAsync<TimeoutException>(() => accept.WaitAsync(TimeSpan.FromMilliseconds(30)));
        using var client = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await client.ConnectAsync(_net.EndPoint);
        // The façade closes the accepted fd: the client reads end of stream.
        var got = new byte[4];
        using var cts = new CancellationTokenSource(Limit);
        Assert.Equal(0, await client.ReceiveAsync(got, System.Net.Sockets.SocketFlags.None, cts.Token));
    }

    [Fact]
    public async Task An_abandoned_buffer_select_receive_gives_its_lease_back_to_the_ring()
    {
        using var buffers = _ring.CreateBufferRing(4, 256);
        var (client, server) = await _net.ConnectAsync(_ring);
        await Assert.ThrowsAsync<TimeoutException>(() => _ring.ReceiveProvided(server, buffers).WaitAsync(TimeSpan.FromMilliseconds(30)));
        Native.WriteAll(client, "data"u8);
        await BufferRingTests.Eventually(() => buffers.Leased == 0 && buffers.KernelAvailable() == 4);
    }

    [Fact]
    public async Task TimeoutAfter_cancels_the_read_in_the_kernel_and_completes_with_its_CQE()
    {
        var (r, w) = Native.Pipe();
        using var pool = new OwnershipMemoryPool(64, 64);
        try
        {
            var buffer = pool.Rent();
            var wait = _ring.Read(r, buffer).TimeoutAfter(TimeSpan.FromMilliseconds(50));
            var e = await Assert.ThrowsAsync<TimeoutException>(() => wait.WaitAsync(Limit)); // (Limit: bounded if the cancel never came)
            Assert.IsAssignableFrom<OperationCanceledException>(e.InnerException);
            // Completed means the kernel is done: the buffer is back in its pool already.
            Assert.Equal(OwnershipState.Pooled, buffer.State);
            Assert.Equal(1, pool.ReturnCount);
            // The read was cancelled: the next bytes are still in the pipe.
            Native.WriteAll(w, "later"u8);
            var got = new byte[8];
            Assert.Equal("later", Encoding.ASCII.GetString(got, 0, Native.ReadSome(r, got)));
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public async Task TimeoutAfter_with_a_token_cancels_in_the_kernel_and_returns_results_that_win()
    {
        var (r, w) = Native.Pipe();
        try
        {
            using var cts = new CancellationTokenSource();
            var buffer = OwnershipMemory.Allocate(8);
            var wait = _ring.Read(r, buffer).TimeoutAfter(Timeout.InfiniteTimeSpan, cts.Token);
            await Task.Delay(20);
            Assert.False(wait.IsCompleted);
            cts.Cancel();
            var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Limit));
            Assert.Equal(cts.Token, e.CancellationToken);
            Assert.Equal(OwnershipState.Released, buffer.State);

            using var second = OwnershipMemory.Allocate(8);
            var quick = _ring.Read(r, second, length: 3).TimeoutAfter(Limit);
            Native.WriteAll(w, "abc"u8);
            Assert.Equal(3, (await quick).BytesTransferred);
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public async Task Bad_timeouts_and_consumed_futures_are_refused()
    {
        var nop = _ring.Nop();
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = nop.WaitAsync(TimeSpan.FromMilliseconds(-5)); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = nop.TimeoutAfter(TimeSpan.FromDays(60)); });
        Assert.Equal(0, await nop.WaitAsync(Limit));
        Assert.Throws<InvalidOperationException>(() => { _ = nop.WaitAsync(Limit); }); // consumed
    }

    [Fact]
    public async Task Zero_timeout_on_a_pending_operation_times_out_at_once()
    {
        var (r, w) = Native.Pipe();
        try
        {
            var buffer = OwnershipMemory.Allocate(8);
            var e = await Assert.ThrowsAsync<TimeoutException>(() => _ring.Read(r, buffer).TimeoutAfter(TimeSpan.Zero).WaitAsync(Limit));
            Assert.IsAssignableFrom<OperationCanceledException>(e.InnerException); // cancelled in the kernel, not the test's limit
            Assert.Equal(OwnershipState.Released, buffer.State);
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }
}
