using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Uring.Cli.Serving;

namespace Uring.Tests;

/// <summary>
/// The façade's echo server (<c>uring serve echo</c>) run in-process, so that a test can look at
/// its ring: the bytes its loop thread allocates, the ring buffers its connections hold. Real
/// clients over loopback; every byte that comes back is checked against what was sent.
/// </summary>
public sealed class EchoServerTests
{
    private static readonly TimeSpan Limit = ServeHarness.Limit;

    [Fact]
    public async Task The_loop_thread_allocates_nothing_per_request_once_warm()
    {
        await using var host = await EchoHost.StartAsync(bufferCount: 256, bufferSize: 4096);
        const int Connections = 32, Message = 1024;
        var clients = new Socket[Connections];
        for (var i = 0; i < Connections; i++)
            clients[i] = await host.ConnectAsync();
        try
        {
            // Warm up: every pool and cache on the path (operations, state machines, the
            // connection's stream) reaches its steady size, and the JIT its last tier.
            await RoundTripsAsync(clients, Message, rounds: 1000);
            var before = await host.LoopThreadAllocatedBytesAsync();
            const int Rounds = 500;
            await RoundTripsAsync(clients, Message, Rounds);
            var after = await host.LoopThreadAllocatedBytesAsync();

            var requests = (long)Connections * Rounds;
            var perRequest = (double)(after - before) / requests;
            // Zero, in practice. A one-off of a few hundred bytes (the runtime's own bookkeeping
            // while the JIT finishes its tiers) is tolerated; a byte per request would be 16,000.
            Assert.True(after - before < 1024, $"the loop thread allocated {after - before} B over {requests} requests ({perRequest:F3} B per request)");
        }
        finally
        {
            foreach (var c in clients)
                c.Dispose();
        }
    }

    [Fact]
    public async Task Large_messages_spanning_many_buffers_come_back_byte_for_byte()
    {
        // 256-byte buffers: a 200 KiB message takes hundreds of leases, and the connection's
        // receive pauses and re-arms many times while its echoes drain.
        await using var host = await EchoHost.StartAsync(bufferCount: 64, bufferSize: 256);
        var tasks = Enumerable.Range(0, 4).Select(async c =>
        {
            using var s = await host.ConnectAsync();
            var rnd = new Random(c);
            for (var round = 0; round < 3; round++)
            {
                var message = new byte[rnd.Next(100_000, 200_000)];
                rnd.NextBytes(message);
                var reading = s.ReceiveExactlyAsync(message.Length, Limit); // reads while the send goes on
                await s.SendAsync(message);
                Assert.Equal(message, await reading);
            }
        });
        await Task.WhenAll(tasks).WaitAsync(Limit);
        await host.WaitUntilAsync(() => host.Server.Buffers.Leased == 0);
    }

    [Fact]
    public async Task More_connections_with_data_than_ring_buffers_are_all_echoed()
    {
        // 16 buffers for 100 connections that all send at once: receives find the ring empty
        // (ENOBUFS), wait for returns, and every connection still gets its bytes back in order.
        await using var host = await EchoHost.StartAsync(bufferCount: 16, bufferSize: 512);
        var clients = new List<Socket>();
        try
        {
            for (var i = 0; i < 100; i++)
                clients.Add(await host.ConnectAsync());
            var tasks = clients.Select(async (s, c) =>
            {
                var message = Pattern(c, 3000);
                var reading = s.ReceiveExactlyAsync(message.Length, Limit);
                await s.SendAsync(message);
                Assert.Equal(message, await reading);
            });
            await Task.WhenAll(tasks).WaitAsync(Limit);
            Assert.True(host.Server.Buffers.EnobufsCount > 0, "the ring never ran dry");
        }
        finally
        {
            foreach (var c in clients)
                c.Dispose();
        }
        await host.WaitUntilAsync(() => host.Server.Buffers.Leased == 0);
    }

    [Fact]
    public async Task A_client_that_sends_without_reading_holds_a_bounded_number_of_buffers_and_loses_no_byte()
    {
        await using var host = await EchoHost.StartAsync(bufferCount: 64, bufferSize: 4096);
        using var hog = await host.ConnectAsync();
        hog.ReceiveBufferSize = 64 * 1024; // small socket buffers: the stall comes sooner
        hog.SendBufferSize = 64 * 1024;
        var sent = await SendPatternUntilStalledAsync(hog);
        Assert.True(sent > 64 * 1024, $"the hog stalled after {sent} bytes");

        // Stalled: its socket buffers are full both ways, and the server's receive has paused.
        // It holds the buffer being sent plus its bounded queue (and at most one CQE that
        // was on its way when the queue filled up).
        var leased = host.Server.Buffers.Leased;
        Assert.True(leased <= EchoServer.MaxQueuedPerConnection + 2, $"the hog holds {leased} of 64 ring buffers");

        // Another client is served meanwhile.
        using (var polite = await host.ConnectAsync())
        {
            var message = Pattern(7, 1000);
            await polite.SendAsync(message);
            Assert.Equal(message, await polite.ReceiveExactlyAsync(message.Length, Limit));
        }

        // Now the hog reads: everything it sent comes back, in order, across all the pauses.
        var echoed = await hog.ReceiveExactlyAsync((int)sent, Limit);
        for (var i = 0; i < echoed.Length; i++)
        {
            if (echoed[i] != PatternByte(i))
                Assert.Fail($"byte {i} of {sent} came back as {echoed[i]}, expected {PatternByte(i)}");
        }
        await host.WaitUntilAsync(() => host.Server.Buffers.Leased == 0);
    }

    [Fact]
    public async Task Stopping_the_server_with_paused_receives_returns_every_buffer()
    {
        var host = await EchoHost.StartAsync(bufferCount: 32, bufferSize: 1024);
        var hogs = new List<Socket>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var s = await host.ConnectAsync();
                s.ReceiveBufferSize = 32 * 1024;
                hogs.Add(s);
                await SendPatternUntilStalledAsync(s);
            }
            Assert.True(host.Server.Buffers.Leased > 0);
            var buffers = host.Server.Buffers;
            await host.DisposeAsync(); // stops: every connection's receive and send is cancelled
            Assert.True(buffers.IsDisposed);
            Assert.Equal(0, buffers.Leased);
        }
        finally
        {
            foreach (var s in hogs)
                s.Dispose();
            await host.DisposeAsync();
        }
    }

    private static byte PatternByte(long i) => (byte)(i * 131 + (i >> 9));

    private static byte[] Pattern(int seed, int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
            bytes[i] = (byte)(i * 7 + seed);
        return bytes;
    }

    /// <summary>Round trips of <paramref name="message"/> bytes on every client at once, each checked.</summary>
    private static async Task RoundTripsAsync(Socket[] clients, int message, int rounds)
    {
        var tasks = clients.Select(async (s, c) =>
        {
            var output = Pattern(c, message);
            var input = new byte[message];
            for (var round = 0; round < rounds; round++)
            {
                output[0] = (byte)round;
                await s.SendAsync(output, SocketFlags.None);
                var got = 0;
                while (got < message)
                {
                    var n = await s.ReceiveAsync(input.AsMemory(got), SocketFlags.None);
                    Assert.True(n > 0, "the server closed the connection");
                    got += n;
                }
                Assert.True(input.AsSpan().SequenceEqual(output), $"round {round} of client {c} came back changed");
            }
        });
        await Task.WhenAll(tasks).WaitAsync(Limit);
    }

    /// <summary>Sends <see cref="PatternByte"/> bytes without reading until nothing more goes out for a second; returns how many.</summary>
    private static async Task<long> SendPatternUntilStalledAsync(Socket s)
    {
        s.Blocking = false;
        var chunk = new byte[16 * 1024];
        long sent = 0;
        var pending = 0; // bytes of chunk not sent yet
        var sinceProgress = Stopwatch.StartNew();
        var total = Stopwatch.StartNew();
        while (true)
        {
            Assert.True(total.Elapsed < Limit, $"still sending after {sent} bytes");
            if (pending == 0)
            {
                for (var i = 0; i < chunk.Length; i++)
                    chunk[i] = PatternByte(sent + i);
                pending = chunk.Length;
            }
            try
            {
                var n = s.Send(chunk, chunk.Length - pending, pending, SocketFlags.None);
                sent += n;
                pending -= n;
                sinceProgress.Restart();
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                if (sinceProgress.Elapsed > TimeSpan.FromSeconds(1))
                {
                    s.Blocking = true;
                    return sent;
                }
                await Task.Delay(10);
            }
        }
    }

    /// <summary>An <see cref="EchoServer"/> in this process, on a free loopback port.</summary>
    private sealed class EchoHost : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _run = Task.CompletedTask;

        private readonly StringWriter _log;

        private EchoHost(EchoServer server, StringWriter log)
        {
            Server = server;
            _log = log;
        }

        /// <summary>What the server logged (nothing, unless a connection ended with an unexpected exception).</summary>
        public string Log
        {
            get
            {
                lock (_log)
                    return _log.ToString();
            }
        }

        public EchoServer Server { get; }

        public IPEndPoint EndPoint { get; private set; } = null!;

        public static async Task<EchoHost> StartAsync(int bufferCount, int bufferSize)
        {
            var settings = new ServerSettings
            {
                Kind = ServerKind.Echo,
                EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
                BufferCount = bufferCount,
                BufferSize = bufferSize,
                IdleTimeout = TimeSpan.Zero,
            };
            var log = new StringWriter();
            var host = new EchoHost(new EchoServer(settings, TextWriter.Synchronized(log)), log);
            var ready = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
            host._run = Task.Run(() => host.Server.RunAsync(e => ready.TrySetResult(e), host._stop.Token));
            var first = await Task.WhenAny(ready.Task, host._run).WaitAsync(Limit);
            if (first == host._run)
                await host._run; // it failed: throw what it threw
            host.EndPoint = await ready.Task;
            return host;
        }

        public async Task<Socket> ConnectAsync()
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await s.ConnectAsync(EndPoint).WaitAsync(Limit);
            return s;
        }

        /// <summary>What <see cref="GC.GetAllocatedBytesForCurrentThread"/> says on the server's loop thread now.</summary>
        public Task<long> LoopThreadAllocatedBytesAsync() =>
            Task.Run(() => (long)Server.Ring.InvokeOnOwnerThread(() => (IntPtr)GC.GetAllocatedBytesForCurrentThread()));

        public async Task WaitUntilAsync(Func<bool> condition)
        {
            var waited = Stopwatch.StartNew();
            while (!condition())
            {
                Assert.True(waited.Elapsed < Limit, "the condition never held");
                await Task.Delay(10);
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await _run.WaitAsync(Limit);
        }
    }
}
