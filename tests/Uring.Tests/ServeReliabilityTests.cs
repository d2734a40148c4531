using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Uring.Tests;

/// <summary>
/// <c>uring serve</c> under faults: running out of file descriptors, clients that send without
/// reading, peers that stop taking data. Real clients over loopback; bounded waits only.
/// </summary>
public sealed class ServeReliabilityTests
{
    private static readonly TimeSpan Limit = ServeHarness.Limit;
    private static readonly byte[] Get = "GET / HTTP/1.1\r\nHost: test\r\n\r\n"u8.ToArray();

    /// <summary>One request and its complete answer, for either server.</summary>
    private static async Task RoundTripAsync(string kind, Socket s, int round)
    {
        if (kind == "echo")
        {
            var message = Encoding.ASCII.GetBytes($"ping {round} {new string('x', round % 1500)}\n");
            await s.SendAsync(message);
            Assert.Equal(message, await s.ReceiveExactlyAsync(message.Length, Limit));
            return;
        }
        await s.SendAsync(Get);
        var response = new StringBuilder();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(Limit);
        while (!response.ToString().EndsWith("Hello, world\n", StringComparison.Ordinal))
        {
            var n = await s.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            Assert.True(n > 0, $"the server closed the connection; got: {response}");
            response.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        Assert.StartsWith("HTTP/1.1 200 OK", response.ToString());
    }

    [Theory]
    [InlineData("echo")]
    [InlineData("http")]
    public async Task Server_out_of_file_descriptors_keeps_serving_and_accepts_again(string kind)
    {
        // ~60 descriptors go to the runtime itself: about 35 connections fit under 96, not 60.
        await using var server = await ServeHarness.StartProcessAsync(96, kind);
        var clients = new List<Socket>();
        try
        {
            for (var i = 0; i < 60; i++)
                clients.Add(await server.ConnectAsync()); // the kernel completes them; the server accepts what it can
            await RoundTripAsync(kind, clients[0], 1);

            var waited = Stopwatch.StartNew();
            while (!server.Errors.Contains("Too many open files"))
            {
                Assert.True(server.IsRunning, $"the server died: {server.Errors}");
                Assert.True(waited.Elapsed < Limit, $"no EMFILE report; stderr: {server.Errors}");
                await Task.Delay(50);
            }
            Assert.True(server.IsRunning, server.Errors);
            await RoundTripAsync(kind, clients[0], 2); // open connections keep working

            // The 20 left fit once the first 40 are gone (the accepted ones among them free their descriptors).
            foreach (var c in clients.Take(40))
                c.Dispose();
            await RoundTripAsync(kind, clients[^1], 3); // waited in the backlog, accepted once descriptors were free
            await RoundTripAsync(kind, clients[^2], 4);

            var errors = server.Errors;
            Assert.Equal(1, CountOf(errors, "cannot accept connections")); // said once, not per failed accept
            Assert.Contains("accepting connections again", errors);
            Assert.DoesNotContain("Exception", errors);
            Assert.Equal(0, await server.StopAsync());
        }
        finally
        {
            foreach (var c in clients)
                c.Dispose();
        }
    }

    [Theory]
    [InlineData("echo")]
    [InlineData("http")]
    public async Task A_client_that_sends_without_reading_does_not_stall_the_others(string kind)
    {
        // A small buffer ring (16 x 4 KiB), so that a connection taking more than its share would empty it quickly.
        await using var server = await ServeHarness.StartAsync(kind, "--buffers", "16", "--buffer-size", "4096");
        using var hog = await server.ConnectAsync();
        var payload = kind == "echo" ? new byte[64 * 1024] : Enumerable.Repeat(Get, 2000).SelectMany(b => b).ToArray();
        var sent = await SendUntilStalledAsync(hog, payload);
        Assert.True(sent > 64 * 1024, $"the hog stalled after {sent} bytes");

        using var polite = await server.ConnectAsync();
        for (var round = 0; round < 20; round++)
            await RoundTripAsync(kind, polite, round);

        using var late = await server.ConnectAsync();
        await RoundTripAsync(kind, late, 0);
        Assert.Equal(0, await server.StopAsync());
    }

    [Fact]
    public async Task A_peer_that_takes_no_data_is_disconnected_after_the_send_timeout()
    {
        await using var server = await ServeHarness.StartAsync("echo", "--send-timeout", "1");
        using var hog = await server.ConnectAsync();
        try
        {
            await SendUntilStalledAsync(hog, new byte[64 * 1024]);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted)
        {
            // The server's send stalled for its 1 s before this side's 1 s without progress ran
            // out (a loaded machine): it has already closed the connection, which is the point.
            Assert.Equal(0, await server.StopAsync());
            return;
        }
        // The server's echo send now makes no progress; after 1 s it closes the connection, which
        // resets it (unread data): the hog's next send fails.
        var waited = Stopwatch.StartNew();
        while (true)
        {
            Assert.True(waited.Elapsed < Limit, "the server kept a connection whose peer never reads");
            try
            {
                hog.Send(new byte[1]);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted)
            {
                break;
            }
            await Task.Delay(50);
        }
        Assert.Equal(0, await server.StopAsync());
    }

    /// <summary>
    /// Sends <paramref name="payload"/> over and over (non-blocking) until nothing more goes out
    /// for a second: the socket buffers on both sides are full. Returns the bytes sent.
    /// </summary>
    internal static async Task<long> SendUntilStalledAsync(Socket s, byte[] payload)
    {
        s.Blocking = false;
        long sent = 0;
        var position = 0;
        var sinceProgress = Stopwatch.StartNew();
        var total = Stopwatch.StartNew();
        while (true)
        {
            Assert.True(total.Elapsed < Limit, $"still sending after {sent} bytes");
            try
            {
                var n = s.Send(payload, position, payload.Length - position, SocketFlags.None);
                sent += n;
                position = (position + n) % payload.Length; // payload holds whole requests: the stream stays well-formed
                sinceProgress.Restart();
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                if (sinceProgress.Elapsed > TimeSpan.FromSeconds(1))
                    return sent;
                await Task.Delay(10);
            }
        }
    }

    private static int CountOf(string text, string what)
    {
        var count = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
            count++;
        return count;
    }
}
