using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

[assembly: CollectionBehavior(DisableTestParallelization = true)] // descriptor counts are per process

namespace Uring.AspNetCore.Tests;

/// <summary>A real minimal-API app on Kestrel over the ring transport (and over Sockets, for comparison), through loopback.</summary>
public sealed class TransportTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    public static TheoryData<Transport> RingTransports => new() { Transport.Ring, Transport.RingThreadPool, Transport.RingNoProvidedBuffers };

    public static TheoryData<Transport> AllTransports => new() { Transport.Sockets, Transport.Ring, Transport.RingThreadPool, Transport.RingNoProvidedBuffers };

    [Fact]
    public async Task OneLineOfConfigurationSwitchesKestrelToTheRing()
    {
        await using (var ring = await TestApp.StartAsync(Transport.Ring))
        {
            using var client = new HttpClient { BaseAddress = ring.Address };
            Assert.StartsWith("uring-", await client.GetStringAsync("/connection"));
        }
        await using (var sockets = await TestApp.StartAsync(Transport.Sockets))
        {
            using var client = new HttpClient { BaseAddress = sockets.Address };
            Assert.DoesNotContain("uring-", await client.GetStringAsync("/connection"));
        }
    }

    [Fact]
    public async Task RingThreadScheduling_HandlersRunOnTheRingsLoopThread()
    {
        await using var app = await TestApp.StartAsync(Transport.Ring);
        using var http = await RawHttp.ConnectAsync(app.Port);
        var threads = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            await http.SendAsync(RawHttp.Get("/thread"));
            threads.Add((await http.ReadResponseAsync().WaitAsync(Bound)).Text);
        }
        // The first request may run where Kestrel starts the connection (the thread pool); once a
        // read has waited for data, the connection's code resumes on the ring thread and stays there.
        Assert.All(threads.Skip(1), name => Assert.Equal("io_uring kestrel 0", name));
    }

    [Theory]
    [MemberData(nameof(AllTransports))]
    public async Task KeepAlive_OneConnectionServesManyRequests(Transport transport)
    {
        await using var app = await TestApp.StartAsync(transport);
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = app.Address };
        var ids = new HashSet<string>();
        for (var i = 0; i < 200; i++)
        {
            ids.Add(await client.GetStringAsync("/connection").WaitAsync(Bound));
            Assert.Equal("Hello, World!", await client.GetStringAsync("/hello").WaitAsync(Bound));
        }
        Assert.Single(ids);
    }

    [Theory]
    [MemberData(nameof(AllTransports))]
    public async Task Pipelining_SixteenRequestsInOneWrite_AreAnsweredInOrder(Transport transport)
    {
        await using var app = await TestApp.StartAsync(transport);
        using var http = await RawHttp.ConnectAsync(app.Port);
        for (var round = 0; round < 20; round++)
        {
            var requests = new StringBuilder();
            for (var i = 0; i < 16; i++)
                requests.Append(i % 2 == 0 ? RawHttp.Get("/hello") : RawHttp.Get($"/big?size={i * 1000 + round}"));
            await http.SendAsync(requests.ToString());
            for (var i = 0; i < 16; i++)
            {
                var response = await http.ReadResponseAsync().WaitAsync(Bound);
                Assert.Equal(200, response.Status);
                if (i % 2 == 0)
                    Assert.Equal("Hello, World!", response.Text);
                else
                    Assert.Equal(TestApp.Pattern(i * 1000 + round), response.Body);
            }
        }
    }

    [Theory]
    [MemberData(nameof(AllTransports))]
    public async Task LargeBodies_8MiBUploadIsHashedAndEchoed_8MiBResponseArrivesWhole(Transport transport)
    {
        await using var app = await TestApp.StartAsync(transport);
        using var client = new HttpClient { BaseAddress = app.Address, Timeout = Bound };
        var body = RandomNumberGenerator.GetBytes(8 << 20);

        var hashed = await client.PostAsync("/sha256", new ByteArrayContent(body));
        Assert.Equal($"{body.Length} {Convert.ToHexStringLower(SHA256.HashData(body))}", await hashed.Content.ReadAsStringAsync());

        // Full duplex: the echo streams back while the upload is still being sent.
        using (var http = await RawHttp.ConnectAsync(app.Port))
        {
            var sending = Task.Run(async () =>
            {
                await http.SendAsync($"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: {body.Length}\r\n\r\n");
                await http.SendAsync(body);
            });
            var echoed = await http.ReadResponseAsync().WaitAsync(Bound);
            await sending.WaitAsync(Bound);
            Assert.True(body.AsSpan().SequenceEqual(echoed.Body));
        }

        var big = await client.GetByteArrayAsync("/big?size=" + (8 << 20));
        Assert.Equal(8 << 20, big.Length);
        AssertRepeats(TestApp.Pattern(64 * 1024), big);
    }

    [Theory]
    [MemberData(nameof(AllTransports))]
    public async Task ClientResetsMidUpload_ServerStaysHealthy_AndDescriptorsReturn(Transport transport)
    {
        await using var app = await TestApp.StartAsync(transport);
        using var client = new HttpClient { BaseAddress = app.Address, Timeout = Bound };
        Assert.Equal("Hello, World!", await client.GetStringAsync("/hello"));
        client.Dispose(); // its connection's descriptors go too
        var baseline = await SettledDescriptorCount(int.MaxValue);

        const int resets = 20;
        for (var i = 0; i < resets; i++)
        {
            using var http = await RawHttp.ConnectAsync(app.Port);
            await http.SendAsync($"POST /sha256 HTTP/1.1\r\nHost: test\r\nContent-Length: {4 << 20}\r\n\r\n");
            await http.SendAsync(new byte[256 * 1024]);
            http.Reset();
        }
        // Every reset connection is closed (a reset may reach the server before or after Kestrel
        // has started the request: either way its descriptor must go) ...
        Assert.True(await SettledDescriptorCount(baseline) <= baseline, "every reset connection's descriptor was closed");
        // ... and the server goes on serving.
        using (var again = new HttpClient { BaseAddress = app.Address, Timeout = Bound })
        {
            var body = RandomNumberGenerator.GetBytes(1 << 20);
            var hashed = await again.PostAsync("/sha256", new ByteArrayContent(body));
            Assert.Equal($"{body.Length} {Convert.ToHexStringLower(SHA256.HashData(body))}", await hashed.Content.ReadAsStringAsync());
        }
    }

    [Theory]
    [MemberData(nameof(RingTransports))]
    public async Task ClientResetsWhileTheHandlerWaits_RequestAbortedFires(Transport transport)
    {
        await using var app = await TestApp.StartAsync(transport);
        var http = await RawHttp.ConnectAsync(app.Port);
        await http.SendAsync(RawHttp.Get("/wait"));
        await app.WaitStarted.Task.WaitAsync(Bound);
        http.Reset();
        Assert.True(await app.WaitAborted.Task.WaitAsync(Bound));
    }

    [Theory]
    [MemberData(nameof(RingTransports))]
    public async Task GracefulShutdown_FinishesTheRequestInFlight_ThenRefuses_AndClosesEverything(Transport transport)
    {
        var before = await SettledDescriptorCount(int.MaxValue);
        var app = await TestApp.StartAsync(transport, shutdownTimeout: TimeSpan.FromSeconds(5));
        using (var http = await RawHttp.ConnectAsync(app.Port))
        {
            await http.SendAsync(RawHttp.Get("/slow"));
            await Task.Delay(100);
            var stopping = app.StopAsync();
            var response = await http.ReadResponseAsync().WaitAsync(Bound);
            Assert.Equal("slow done", response.Text);
            await stopping.WaitAsync(Bound);
            Assert.True(await http.ReadsEndOfStreamAsync().WaitAsync(Bound));
        }
        using (var refused = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            var error = await Assert.ThrowsAsync<SocketException>(() => refused.ConnectAsync(new IPEndPoint(IPAddress.Loopback, app.Port)));
            Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
        }
        await app.DisposeAsync();
        // the listening socket, the rings (their fds and eventfds) and every connection are gone
        var after = await SettledDescriptorCount(before);
        Assert.True(after <= before, $"the transport closed every descriptor it opened; open now: {string.Join(", ", Descriptors())}");
    }

    [Fact]
    public async Task TheSameAppAnswersAlikeOnSocketsAndOnTheRing()
    {
        string[] requests =
        [
            RawHttp.Get("/hello"),
            RawHttp.Get("/json"),
            "HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n",
            "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello world",
            "POST /sha256 HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            RawHttp.Get("/big?size=100000"),
            RawHttp.Get("/missing"),
            "GET /hello HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        ];
        var sockets = await Transcript(Transport.Sockets, requests);
        var ring = await Transcript(Transport.Ring, requests);
        Assert.Equal(sockets, ring);
        Assert.Contains(Convert.ToBase64String("Hello, World!"u8), ring);
        Assert.Contains("HTTP/1.1 404 Not Found", ring);
    }

    private static async Task<string> Transcript(Transport transport, string[] requests)
    {
        await using var app = await TestApp.StartAsync(transport);
        var text = new StringBuilder();
        using var http = await RawHttp.ConnectAsync(app.Port);
        foreach (var request in requests)
        {
            await http.SendAsync(request);
            var response = await http.ReadResponseAsync(headRequest: request.StartsWith("HEAD")).WaitAsync(Bound);
            text.Append(response.HeadWithoutDate).Append("\r\n\r\n").Append(Convert.ToBase64String(response.Body)).Append('\n');
        }
        text.Append("closed: ").Append(await http.ReadsEndOfStreamAsync().WaitAsync(Bound));
        return text.ToString();
    }

    private static void AssertRepeats(byte[] pattern, byte[] bytes)
    {
        for (var offset = 0; offset < bytes.Length; offset += pattern.Length)
            Assert.True(bytes.AsSpan(offset, pattern.Length).SequenceEqual(pattern), $"bytes differ in the block at {offset}");
    }

    /// <summary>This process's sockets, rings and eventfds (not the files the runtime maps as it loads assemblies).</summary>
    private static List<string> Descriptors()
    {
        var found = new List<string>();
        foreach (var path in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                var target = new FileInfo(path).LinkTarget ?? "";
                if (target.StartsWith("socket:", StringComparison.Ordinal) || target.StartsWith("anon_inode:", StringComparison.Ordinal))
                    found.Add($"{Path.GetFileName(path)}->{target}");
            }
            catch (IOException)
            {
                // closed meanwhile
            }
        }
        return found;
    }

    /// <summary>The count of <see cref="Descriptors"/>, once it is at most <paramref name="target"/> or 5 s have passed.</summary>
    private static async Task<int> SettledDescriptorCount(int target)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        var count = Descriptors().Count;
        while (count > target && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            count = Descriptors().Count;
        }
        return count;
    }
}
