using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Uring.Tests;

/// <summary>The sample servers of <c>uring serve</c>, driven in-process over loopback.</summary>
public sealed class SocketServeTests
{
    private static readonly TimeSpan Limit = ServeHarness.Limit;

    [Theory]
    [InlineData("ring")]
    [InlineData("socket")]
    public async Task Echo_server_echoes_many_connections_byte_for_byte(string engine)
    {
        await using var server = await ServeHarness.StartAsync("echo", "--engine", engine, "--buffers", "64", "--buffer-size", "512");
        var clients = Enumerable.Range(0, 20).Select(async c =>
        {
            using var s = await server.ConnectAsync();
            var rnd = new Random(c);
            for (var round = 0; round < 20; round++)
            {
                var message = new byte[rnd.Next(1, 3000)]; // larger than one ring buffer, sometimes
                rnd.NextBytes(message);
                await s.SendAsync(message);
                Assert.Equal(message, await s.ReceiveExactlyAsync(message.Length, Limit));
            }
        });
        await Task.WhenAll(clients).WaitAsync(Limit);
        Assert.Equal(0, await server.StopAsync());
    }

    [Fact]
    public async Task Http_server_answers_keep_alive_pipelined_and_closing_requests()
    {
        await using var server = await ServeHarness.StartAsync("http");
        Assert.Equal(IPAddress.Loopback, server.EndPoint.Address); // loopback by default
        using var s = await server.ConnectAsync();
        const string Get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        await s.SendAsync(Encoding.ASCII.GetBytes(Get + Get + "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        var text = Encoding.ASCII.GetString(await s.ReceiveToEndAsync(Limit));
        var responses = text.Split("HTTP/1.1 200 OK", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, responses.Length);
        Assert.All(responses, r => Assert.EndsWith("Hello, world\n", r));
        Assert.Contains("Connection: keep-alive", responses[0]);
        Assert.Contains("Connection: close", responses[2]); // and then the server closed
    }

    [Fact]
    public void Binding_a_port_in_use_reports_EADDRINUSE()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var e = Assert.Throws<UringIOException>(() => NetSocket.OpenTcpListener((IPEndPoint)taken.LocalEndPoint!));
        Assert.Equal(98, e.Errno); // EADDRINUSE, read right after bind(2), not after formatting the message
        Assert.Contains("Address already in use", e.Message);
        Assert.Contains(taken.LocalEndPoint!.ToString()!, e.Message);
    }

    [Fact]
    public void Built_uring_serve_on_a_port_in_use_says_address_already_in_use()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var port = ((IPEndPoint)taken.LocalEndPoint!).Port.ToString();
        foreach (var kind in new[] { "echo", "http" })
        {
            var (code, _, stderr) = CliTests.RunTool("serve", kind, "--port", port);
            Assert.Equal(1, code);
            Assert.Contains("Address already in use", stderr);
            Assert.DoesNotContain("Unknown error", stderr);
            Assert.DoesNotContain("   at ", stderr);
        }
    }
}
