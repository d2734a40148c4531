using System.Diagnostics;
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
        using var closing = NewClient();
        closing.Connect(server.EndPoint);
        Assert.StartsWith(expected, Ask(closing, request));
        using var waiting = NewClient();

        bool paused = false, answeredBeforeClose = false, answered = false;
        string? failure = null, answer = null;
        var tookAfterClose = TimeSpan.Zero;
        descriptors.Exhaust();
        try
        {
            waiting.Connect(server.EndPoint); // the kernel completes it; it waits in the backlog
            waiting.Send(request);
            paused = WaitUntil(() => server.Errors.Contains("cannot accept connections"), descriptors.TimeLeft);
            if (paused)
            {
                // Descriptors are free again, but the accept waits out its back-off...
                descriptors.Free(int.MaxValue);
                answeredBeforeClose = waiting.Poll(Microseconds(Min(TimeSpan.FromMilliseconds(300), descriptors.TimeLeft)), SelectMode.SelectRead);
                // ... until a connection closes.
                var watch = Stopwatch.StartNew();
                closing.Close();
                answered = waiting.Poll(Microseconds(descriptors.TimeLeft), SelectMode.SelectRead);
                tookAfterClose = watch.Elapsed;
                if (answered)
                    answer = Receive(waiting);
            }
        }
        catch (SocketException e)
        {
            failure = $"{e.SocketErrorCode}: {e.Message}";
        }
        finally
        {
            descriptors.Free(int.MaxValue);
        }
        Assert.Null(failure);
        Assert.True(paused, $"accepting did not pause while out of descriptors; stderr: {server.Errors}");
        Assert.False(answeredBeforeClose, "the waiting client was accepted during the 30 s back-off, before any connection closed");
        Assert.True(answered, $"the waiting client was not accepted within {tookAfterClose.TotalSeconds:F1} s of a connection closing " +
            $"(the back-off is 30 s); stderr: {server.Errors}");
        Assert.StartsWith(expected, answer);
        Assert.True(WaitUntil(() => server.Errors.Contains("accepting connections again"), ServeHarness.Limit), $"stderr: {server.Errors}");
        Assert.Equal(0, await server.StopAsync());
    }

    private static Socket NewClient() => new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

    /// <summary>One request, answered within 10 s: the answer's first bytes.</summary>
    private static string Ask(Socket client, byte[] request)
    {
        client.Send(request);
        Assert.True(client.Poll(Microseconds(TimeSpan.FromSeconds(10)), SelectMode.SelectRead), "no answer within 10 s");
        return Receive(client);
    }

    private static string Receive(Socket client)
    {
        var buffer = new byte[4096];
        var n = client.Receive(buffer);
        return Encoding.ASCII.GetString(buffer, 0, n);
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

    private static int Microseconds(TimeSpan t) => (int)Math.Max(1, Math.Min(int.MaxValue, t.TotalMicroseconds));

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
