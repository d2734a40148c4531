using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Uring.Tests;

/// <summary>
/// <see cref="SocketPipe"/> with a real client (System.Net.Sockets.Socket) over loopback: echo of
/// large payloads, half-close, peer reset, stopping and cancelling, aborting, and a slow reader.
/// </summary>
public sealed class SocketPipeTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);
    private readonly Ring _ring = new();
    private readonly int _listener = NetSocket.OpenTcpListener(new IPEndPoint(IPAddress.Loopback, 0), 64);
    private readonly IPEndPoint _endPoint;

    public SocketPipeTests() => _endPoint = NetSocket.GetLocalEndPoint(_listener);

    public void Dispose()
    {
        _ring.Dispose();
        NetSocket.Close(_listener);
    }

    private async Task<(Socket Client, int Server)> Connect()
    {
        var client = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accept = _ring.Accept(_listener);
        await client.ConnectAsync(_endPoint).WaitAsync(Limit);
        return (client, (await accept.WaitAsync(Limit)).Fd);
    }

    /// <summary>A pool that counts the bytes it has out, and their peak.</summary>
    private sealed class CountingPool(int blockSize) : MemoryPool<byte>
    {
        private long _outstanding, _peak;

        public long Outstanding => Interlocked.Read(ref _outstanding);
        public long Peak => Interlocked.Read(ref _peak);
        public override int MaxBufferSize => blockSize;

        public override IMemoryOwner<byte> Rent(int minimumLength = -1)
        {
            var now = Interlocked.Add(ref _outstanding, blockSize);
            long peak;
            while (now > (peak = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak)
            {
            }
            return new Block(this, new byte[blockSize]);
        }

        protected override void Dispose(bool disposing)
        {
        }

        private sealed class Block(CountingPool pool, byte[] array) : IMemoryOwner<byte>
        {
            private int _disposed;

            public Memory<byte> Memory => array;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) == 0)
                    Interlocked.Add(ref pool._outstanding, -array.Length);
            }
        }
    }

    private static async Task Echo(SocketPipe pipe)
    {
        while (true)
        {
            var result = await pipe.Input.ReadAsync();
            foreach (var segment in result.Buffer)
                pipe.Output.Write(segment.Span);
            pipe.Input.AdvanceTo(result.Buffer.End);
            var flush = await pipe.Output.FlushAsync();
            if (result.IsCompleted || flush.IsCompleted)
                break;
        }
        await pipe.Output.CompleteAsync(); // half-close back: the client reads end of stream
    }

    private static async Task<byte[]> ReceiveAll(Socket client)
    {
        var received = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int n;
        while ((n = await client.ReceiveAsync(chunk, SocketFlags.None)) > 0)
            received.Write(chunk, 0, n);
        return received.ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_large_payload_is_echoed_byte_for_byte_and_half_close_travels_both_ways(bool bufferRing)
    {
        using var buffers = bufferRing ? _ring.CreateBufferRing(16, 16 * 1024) : null;
        var pool = new CountingPool(16 * 1024);
        var pipeOptions = new PipeOptions(pool, PipeScheduler.Inline, PipeScheduler.Inline, 64 * 1024, 32 * 1024, 16 * 1024, useSynchronizationContext: false);
        var (client, server) = await Connect();
        using (client)
        {
            var pipe = new SocketPipe(_ring, server, new SocketPipeOptions { ReceiveBuffers = buffers, InputOptions = pipeOptions, OutputOptions = pipeOptions });
            var echo = Task.Run(() => Echo(pipe));
            var payload = new byte[12 * 1024 * 1024 + 12345];
            new Random(42).NextBytes(payload);
            var receiving = ReceiveAll(client);
            for (var sent = 0; sent < payload.Length;)
                sent += await client.SendAsync(payload.AsMemory(sent, Math.Min(1 << 20, payload.Length - sent)), SocketFlags.None);
            client.Shutdown(SocketShutdown.Send); // the server's Input completes…
            var echoed = await receiving.WaitAsync(Limit); // …its echo loop completes Output: our end of stream
            Assert.Equal(payload.Length, echoed.Length);
            Assert.True(payload.AsSpan().SequenceEqual(echoed));
            await echo.WaitAsync(Limit);
            await pipe.Completion.WaitAsync(Limit); // both directions ended, socket closed
            await pipe.DisposeAsync();
        }
        Assert.Equal(0, pool.Outstanding); // every block back, only after the kernel was done with it
        if (buffers is not null)
            Assert.Equal(0, buffers.Leased);
    }

    [Fact]
    public async Task A_peer_reset_fails_Input_with_ECONNRESET_and_the_next_sends_with_an_error()
    {
        var (client, server) = await Connect();
        var pipe = new SocketPipe(_ring, server);
        client.Send("hi"u8);
        var first = await pipe.Input.ReadAtLeastAsync(2).AsTask().WaitAsync(Limit);
        Assert.Equal("hi", Encoding.ASCII.GetString(first.Buffer.ToArray()));
        pipe.Input.AdvanceTo(first.Buffer.End);
        client.LingerState = new LingerOption(true, 0);
        client.Close(); // RST

        var e = await Assert.ThrowsAsync<UringIOException>(async () => await pipe.Input.ReadAsync().AsTask().WaitAsync(Limit));
        Assert.Equal("ECONNRESET", e.ErrnoName);

        var sendError = await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            for (var i = 0; i < 1000; i++)
            {
                pipe.Output.Write(new byte[1024]);
                await pipe.Output.FlushAsync().AsTask().WaitAsync(Limit);
                await Task.Delay(1);
            }
        });
        Assert.Contains(((UringIOException)sendError).ErrnoName, new[] { "EPIPE", "ECONNRESET" });
        await pipe.DisposeAsync().AsTask().WaitAsync(Limit);
    }

    [Fact]
    public async Task Completing_Input_cancels_the_pending_receive_in_the_kernel_and_sending_goes_on()
    {
        var (client, server) = await Connect();
        using (client)
        {
            var pipe = new SocketPipe(_ring, server);
            await BufferRingTests.Eventually(() => _ring.InFlight == 1); // the receive waits in the kernel
            pipe.Input.Complete();
            await BufferRingTests.Eventually(() => _ring.InFlight == 0); // cancelled there

            await pipe.Output.WriteAsync("still here"u8.ToArray());
            var got = new byte[32];
            var n = await client.ReceiveAsync(got, SocketFlags.None).WaitAsync(Limit);
            Assert.Equal("still here", Encoding.ASCII.GetString(got, 0, n));

            await pipe.DisposeAsync().AsTask().WaitAsync(Limit);
            Assert.Equal(0, await client.ReceiveAsync(got, SocketFlags.None).WaitAsync(Limit)); // FIN, then closed
            Assert.True(pipe.Completion.IsCompleted);
        }
    }

    [Fact]
    public async Task A_cancelled_read_of_Input_leaves_the_connection_usable()
    {
        var (client, server) = await Connect();
        using (client)
        await using (var pipe = new SocketPipe(_ring, server))
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pipe.Input.ReadAsync(cts.Token));
            client.Send("after"u8);
            var result = await pipe.Input.ReadAtLeastAsync(5).AsTask().WaitAsync(Limit);
            Assert.Equal("after", Encoding.ASCII.GetString(result.Buffer.ToArray()));
            pipe.Input.AdvanceTo(result.Buffer.End);
        }
    }

    [Fact]
    public async Task A_slow_reader_holds_back_the_peer_and_the_input_pipe_stays_under_its_threshold()
    {
        const int pause = 64 * 1024;
        const int block = 4096;
        var pool = new CountingPool(block);
        var (client, server) = await Connect();
        using (client)
        {
            var pipe = new SocketPipe(_ring, server, new SocketPipeOptions
            {
                InputOptions = new PipeOptions(pool, PipeScheduler.Inline, PipeScheduler.Inline, pause, pause / 2, block, useSynchronizationContext: false),
            });
            var payload = new byte[6 * 1024 * 1024];
            new Random(3).NextBytes(payload);
            var sending = Task.Run(async () =>
            {
                for (var sent = 0; sent < payload.Length;)
                    sent += await client.SendAsync(payload.AsMemory(sent, Math.Min(65536, payload.Length - sent)), SocketFlags.None);
                client.Shutdown(SocketShutdown.Send);
            });

            var received = new MemoryStream();
            while (true)
            {
                var result = await pipe.Input.ReadAsync().AsTask().WaitAsync(Limit);
                // Take at most 16 KiB per read, slowly: the reader is far behind the peer.
                var take = result.Buffer.Slice(0, Math.Min(16 * 1024, result.Buffer.Length));
                foreach (var segment in take)
                    received.Write(segment.Span);
                // Consumed and examined alike: the reader will come back for the rest. (A reader that
                // marks everything examined without consuming it asks the pipe for more data, and the
                // pipe lets it in past the threshold: that is how a parser waits for a long message.)
                pipe.Input.AdvanceTo(take.End);
                if (result.IsCompleted && take.Length == result.Buffer.Length)
                    break;
                await Task.Delay(1);
            }
            await sending.WaitAsync(Limit);
            Assert.True(payload.AsSpan().SequenceEqual(received.ToArray()));
            // Bounded: the pipe held at most its threshold plus the receive's block (and a block of slack),
            // while megabytes waited in the peer and the kernel.
            Assert.True(pool.Peak <= pause + 2 * block, $"peak {pool.Peak} bytes in the input pipe");
            await pipe.DisposeAsync().AsTask().WaitAsync(Limit);
        }
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public async Task Abort_resets_the_connection_and_both_pipes_see_the_reason()
    {
        var (client, server) = await Connect();
        using (client)
        {
            var pipe = new SocketPipe(_ring, server);
            var reason = new InvalidDataException("protocol violation");
            pipe.Abort(reason);
            var seen = await Assert.ThrowsAsync<InvalidDataException>(async () => await pipe.Input.ReadAsync().AsTask().WaitAsync(Limit));
            Assert.Same(reason, seen);
            await pipe.Completion.WaitAsync(Limit);
            await Assert.ThrowsAsync<InvalidDataException>(async () =>
            {
                pipe.Output.Write("x"u8);
                await pipe.Output.FlushAsync();
            });
            var e = await Assert.ThrowsAsync<SocketException>(async () => await client.ReceiveAsync(new byte[8], SocketFlags.None).WaitAsync(Limit));
            Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode); // RST, not FIN
            await pipe.DisposeAsync();
        }
    }

    [Fact]
    public async Task Completing_Output_with_an_exception_resets_the_connection()
    {
        var (client, server) = await Connect();
        using (client)
        {
            var pipe = new SocketPipe(_ring, server);
            await pipe.Output.CompleteAsync(new InvalidOperationException("the application failed"));
            await pipe.Completion.WaitAsync(Limit);
            var e = await Assert.ThrowsAsync<SocketException>(async () => await client.ReceiveAsync(new byte[8], SocketFlags.None).WaitAsync(Limit));
            Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await pipe.Input.ReadAsync());
        }
    }

    [Fact]
    public async Task Many_small_segments_are_gathered_into_vectored_sends()
    {
        var pool = new CountingPool(1024);
        var (client, server) = await Connect();
        using (client)
        {
            var pipe = new SocketPipe(_ring, server, new SocketPipeOptions
            {
                OutputOptions = new PipeOptions(pool, PipeScheduler.Inline, PipeScheduler.Inline, 1 << 20, 1 << 19, 1024, useSynchronizationContext: false),
            });
            var expected = new MemoryStream();
            for (var i = 0; i < 100; i++) // 100 segments of 1 KiB, flushed once: one read of many segments
            {
                var span = pipe.Output.GetSpan(1024)[..1000];
                span.Fill((byte)i);
                pipe.Output.Advance(1000);
                expected.Write(span);
            }
            await pipe.Output.FlushAsync();
            await pipe.Output.CompleteAsync();
            var got = await ReceiveAll(client).WaitAsync(Limit);
            Assert.Equal(expected.ToArray(), got);
            await pipe.DisposeAsync();
        }
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public async Task DisposeAsync_gives_unsent_output_the_close_timeout_then_cancels_the_send_in_the_kernel()
    {
        var (client, server) = await Connect();
        using (client)
        {
            client.ReceiveBufferSize = 4096;
            var pipe = new SocketPipe(_ring, server, new SocketPipeOptions { CloseTimeout = TimeSpan.FromMilliseconds(200) });
            // The client never reads: writes pile up in the kernel, then in the output pipe.
            var chunk = new byte[256 * 1024];
            var written = 0;
            for (; written < 400; written++)
            {
                pipe.Output.Write(chunk);
                var flush = pipe.Output.FlushAsync().AsTask();
                if (await Task.WhenAny(flush, Task.Delay(500)) != flush)
                    break; // backpressure: the kernel's socket buffer and the output pipe are full
            }
            Assert.True(written < 400, "the output never filled up");
            await Task.Delay(100);
            Assert.True(_ring.InFlight == 2, $"{_ring.InFlight} operations in flight after {written} chunks"); // a send stuck in the kernel, and the receive
            var started = DateTime.UtcNow;
            await pipe.DisposeAsync().AsTask().WaitAsync(Limit);
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
            Assert.Equal(0, _ring.InFlight);
        }
    }

    [Fact]
    public async Task With_every_ring_buffer_leased_a_receive_waits_and_resumes_in_the_thread_that_returns_one()
    {
        using var buffers = _ring.CreateBufferRing(1, 4096);
        var (holder, holderServer) = await Connect();
        var (client, server) = await Connect();
        using (holder)
        using (client)
        {
            await holder.SendAsync("x"u8.ToArray());
            var lease = await _ring.ReceiveProvided(holderServer, buffers).WaitAsync(Limit); // the ring's only buffer
            var pipe = new SocketPipe(_ring, server, new SocketPipeOptions { ReceiveBuffers = buffers });
            await client.SendAsync("hello"u8.ToArray());
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (buffers.EnobufsCount == 0)
            {
                Assert.True(waited.Elapsed < Limit, "the pipe's receive never met the empty ring");
                await Task.Delay(10);
            }

            // Returned on the ring's thread (after the turn that delivered ENOBUFS), the buffer lets
            // the waiting receive go on right there: it is in the kernel again before Dispose returns,
            // with no hop through the thread pool (which may have no thread to give).
            var inFlight = (int)_ring.InvokeOnOwnerThread(() =>
            {
                lease.Dispose();
                return _ring.InFlight;
            });
            Assert.Equal(1, inFlight);

            var read = await pipe.Input.ReadAsync().AsTask().WaitAsync(Limit);
            Assert.Equal("hello", Encoding.ASCII.GetString(read.Buffer.ToArray()));
            pipe.Input.AdvanceTo(read.Buffer.End);
            await pipe.DisposeAsync().AsTask().WaitAsync(Limit);
            Assert.Equal(0, buffers.Leased);
        }
        NetSocket.Close(holderServer);
    }

    [Fact]
    public void Bad_options_are_refused()
    {
        using var other = new Ring();
        using var foreign = other.CreateBufferRing(4, 1024);
        Assert.Throws<ArgumentException>(() => new SocketPipe(_ring, 5, new SocketPipeOptions { ReceiveBuffers = foreign }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SocketPipe(_ring, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SocketPipe(_ring, 5, new SocketPipeOptions { MinimumReceiveSize = 0 }));
    }
}
