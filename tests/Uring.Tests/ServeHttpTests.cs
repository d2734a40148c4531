using System.Net.Sockets;
using System.Text;

namespace Uring.Tests;

/// <summary><c>uring serve http</c> against malformed, slow and abusive clients, over loopback.</summary>
public sealed class ServeHttpTests
{
    private static readonly TimeSpan Limit = ServeHarness.Limit;

    public static TheoryData<string, int> MalformedRequests => new()
    {
        { "garbage ending like a head\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\n\r\n", 400 },                                        // no Host
        { "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },                  // two Hosts
        { "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },                            // two spaces
        { "GET / HTTP/1.1\nHost: x\n\n", 400 },                                   // bare LF
        { "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400 },                            // space before the colon
        { "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400 },        // obsolete line folding
        { "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u0001b\r\n\r\n", 400 },            // control character in a value
        { "GET x HTTP/1.1\r\nHost: x\r\n\r\n", 400 },                             // not a target form
        { "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },                             // method is not a token
        { "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501 },
        { "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505 },
        { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", 413 },
        { "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003", 400 }, // a TLS ClientHello: refused at once, no CRLF needed
        { "GET /" + new string('a', 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414 },
        { "GET / HTTP/1.1\r\nHost: x\r\n" + string.Concat(Enumerable.Range(0, 120).Select(i => $"X-{i}: {i}\r\n")) + "\r\n", 431 },
        { "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('b', 17000) + "\r\n\r\n", 431 },
    };

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task A_malformed_request_gets_its_error_status_and_the_connection_closes(string request, int status)
    {
        await using var server = await ServeHarness.StartAsync("http");
        using var s = await server.ConnectAsync();
        await s.SendAsync(Encoding.Latin1.GetBytes(request));
        var response = Encoding.ASCII.GetString(await s.ReceiveToEndAsync(Limit));
        Assert.StartsWith($"HTTP/1.1 {status} ", response);
        Assert.Contains("Connection: close\r\n", response);
        Assert.Equal(1, response.Split("HTTP/1.1 ").Length - 1);
    }

    [Fact]
    public async Task A_flood_of_empty_lines_gets_one_error_not_a_flood_of_responses()
    {
        await using var server = await ServeHarness.StartAsync("http");
        using var s = await server.ConnectAsync();
        var flood = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("\r\n\r\n", 100_000)));
        var sending = s.SendAsync(flood);
        var response = await s.ReceiveToEndAsync(Limit);
        try
        {
            await sending.WaitAsync(Limit);
        }
        catch (SocketException)
        {
            // the server closed before taking all 400 KB
        }
        Assert.True(response.Length < 1024, $"{response.Length} bytes of responses to 400 KB of empty lines");
        Assert.StartsWith("HTTP/1.1 400 ", Encoding.ASCII.GetString(response));
    }

    [Fact]
    public async Task An_incomplete_head_gets_408_after_the_header_timeout()
    {
        await using var server = await ServeHarness.StartAsync("http", "--header-timeout", "1");
        using var slow = await server.ConnectAsync();
        await slow.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n"u8.ToArray()); // the final CRLF never comes
        var response = Encoding.ASCII.GetString(await slow.ReceiveToEndAsync(Limit));
        Assert.StartsWith("HTTP/1.1 408 ", response);

        using var silent = await server.ConnectAsync(); // sends nothing at all: closed without a response
        Assert.Empty(await silent.ReceiveToEndAsync(Limit));
    }

    [Fact]
    public async Task An_idle_keep_alive_connection_is_closed_after_the_idle_timeout()
    {
        await using var server = await ServeHarness.StartAsync("http", "--idle-timeout", "1");
        using var s = await server.ConnectAsync();
        await s.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        var response = Encoding.ASCII.GetString(await s.ReceiveToEndAsync(Limit));
        Assert.StartsWith("HTTP/1.1 200 OK", response);
        Assert.Contains("Connection: keep-alive", response);
        Assert.EndsWith("Hello, world\n", response); // one response, then the server closed the idle connection
    }

    [Fact]
    public async Task Bodies_are_skipped_and_pipelined_requests_answered_in_order()
    {
        await using var server = await ServeHarness.StartAsync("http");
        using var s = await server.ConnectAsync();
        var requests = new StringBuilder();
        var expected = new List<string>();
        for (var i = 0; i < 300; i++)
        {
            switch (i % 3)
            {
                case 0:
                    requests.Append($"POST /{i} HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nGET / HTTP/");
                    expected.Add("405");
                    break;
                case 1:
                    requests.Append($"GET /{i} HTTP/1.1\r\nhost: x\r\nconnection: keep-alive\r\n\r\n");
                    expected.Add("200+body");
                    break;
                default:
                    requests.Append($"HEAD /{i} HTTP/1.1\r\nHost: x\r\n\r\n");
                    expected.Add("200");
                    break;
            }
        }
        requests.Append("GET /last HTTP/1.0\r\n\r\n"); // HTTP/1.0 without keep-alive: the last one
        expected.Add("200+body");
        await s.SendAsync(Encoding.ASCII.GetBytes(requests.ToString()));
        var text = Encoding.ASCII.GetString(await s.ReceiveToEndAsync(Limit));
        var responses = text.Split("HTTP/1.1 ", StringSplitOptions.RemoveEmptyEntries);
        var seen = responses.Select(r => r[..3] + (r.EndsWith("Hello, world\n", StringComparison.Ordinal) ? "+body" : "")).ToList();
        Assert.Equal(expected, seen);
        Assert.Contains("Allow: GET, HEAD", responses[0]);
        Assert.Contains("Connection: close", responses[^1]);
    }
}
