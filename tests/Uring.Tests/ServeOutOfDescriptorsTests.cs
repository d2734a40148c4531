using System.Net;
using System.Net.Sockets;
using System.Text;
using Uring.Cli.Serving;

namespace Uring.Tests;

/// <summary>
/// <c>uring serve</c>'s ring servers, in this process, when it runs out of file descriptors: the
/// soft RLIMIT_NOFILE is lowered before the server starts (the kernel reads it when the accept is
/// armed) and every free number below it is filled later (<see cref="NoDescriptorsLeft"/>). The
/// tests run alone (the serial collection).
/// </summary>
/// <remarks>
/// While out of descriptors the test opens none and asserts nothing: the clients' sockets are made
/// beforehand and used with blocking calls bounded by the stretch's budget, and what happens is
/// checked once descriptors are back. (<c>ServeReliabilityTests</c> runs the built tool under
/// <c>ulimit -n</c> with the default back-off.)
/// </remarks>
[Collection(SerialCollection.Name)]
public sealed class ServeOutOfDescriptorsTests
{
    [Theory]
    [InlineData(ServerKind.Echo)]
    [InlineData(ServerKind.Http)]
    public async Task A_connection_that_closes_while_accepting_is_paused_lets_the_waiting_client_in_at_once(ServerKind kind)
    {
        using var descriptors = NoDescriptorsLeft.LowerLimit(headroom: 256);
        // A back-off far longer than the test: only a connection's close can end it in time.
        await using var server = await ServeHarness.StartAsync(new ServerSettings
        {
            Kind = kind,
            EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            AcceptBackoff = new AcceptBackoff { Initial = TimeSpan.FromSeconds(30), Maximum = TimeSpan.FromSeconds(30) },
        });
        var request = Encoding.ASCII.GetBytes(kind == ServerKind.Echo ? "ping\n" : "GET / HTTP/1.1\r\nHost: test\r\n\r\n");
        var expected = kind == ServerKind.Echo ? "ping\n" : "HTTP/1.1 200";

        // What runs while out of descriptors runs once before (a request and its answer; the close
        // comes after descriptors are free again). No connection closes before: the server might
        // close its socket only once the table is full, and the accept take that descriptor.
        using var closing = CloseWhilePaused.NewClient();
        closing.Connect(server.EndPoint);
        Assert.StartsWith(expected, CloseWhilePaused.Ask(closing, request));
        using var waiting = CloseWhilePaused.NewClient();

        CloseWhilePaused.Run(descriptors, server.EndPoint, closing, waiting, request,
                limit => WaitUntil(() => server.Errors.Contains("cannot accept connections"), limit))
            .Check(expected, () => $"stderr: {server.Errors}");
        Assert.True(WaitUntil(() => server.Errors.Contains("accepting connections again"), ServeHarness.Limit), $"stderr: {server.Errors}");
        Assert.Equal(0, await server.StopAsync());
    }

    /// <summary>Checks <paramref name="condition"/> every 10 ms (sleeping between: no hot loop) until it holds or <paramref name="limit"/> passes.</summary>
    private static bool WaitUntil(Func<bool> condition, TimeSpan limit)
    {
        var end = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        while (!condition())
        {
            if (Environment.TickCount64 >= end)
                return false;
            Thread.Sleep(10);
        }
        return true;
    }
}
