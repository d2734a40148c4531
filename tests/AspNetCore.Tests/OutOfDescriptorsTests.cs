using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Uring.Tests;

namespace Uring.AspNetCore.Tests;

/// <summary>
/// The ring transport when the process runs out of file descriptors: the app runs in this
/// process, whose soft RLIMIT_NOFILE is lowered and every free number below it filled
/// (<see cref="NoDescriptorsLeft"/>), so the kernel ends the transport's accept with EMFILE. The
/// tests run alone (the serial collection).
/// </summary>
/// <remarks>
/// While out of descriptors the test opens none and asserts nothing: the clients' sockets are made
/// beforehand, they are used with blocking calls bounded by the stretch's budget (no continuation,
/// so no thread), and what happens is checked once the limit is restored.
/// </remarks>
[Collection(SerialCollection.Name)]
public sealed class OutOfDescriptorsTests
{
    private static readonly byte[] Hello = Encoding.ASCII.GetBytes(RawHttp.Get("/hello"));

    [Theory]
    [InlineData(Transport.Ring)]
    [InlineData(Transport.RingThreadPool)]
    public async Task A_connection_that_closes_while_accepting_is_paused_lets_the_waiting_client_in_at_once(Transport transport)
    {
        // The limit is lowered before the app starts (the kernel reads it when the accept is armed),
        // with room for what the app opens; the table is filled later.
        using var descriptors = NoDescriptorsLeft.LowerLimit(headroom: 256);
        // A back-off far longer than the test: only a connection's close can end it in time.
        var logs = new TransportLog();
        await using var app = await TestApp.StartAsync(transport,
            configure: o => o.AcceptBackoff = new AcceptBackoff { Initial = TimeSpan.FromSeconds(30), Maximum = TimeSpan.FromSeconds(30) },
            logs: logs);
        var endPoint = new IPEndPoint(IPAddress.Loopback, app.Port);

        // What runs while out of descriptors runs once before (a request and its answer; the close
        // comes after descriptors are free again). No connection closes before: the server might
        // close its socket only once the table is full, and the accept take that descriptor.
        using var closing = NewClient();
        closing.Connect(endPoint);
        Assert.StartsWith("HTTP/1.1 200", Ask(closing));
        using var waiting = NewClient();

        bool paused = false, answeredBeforeClose = false, answered = false;
        string? failure = null, answer = null;
        var tookAfterClose = TimeSpan.Zero;
        descriptors.Exhaust();
        try
        {
            waiting.Connect(endPoint); // the kernel completes it; it waits in the backlog
            waiting.Send(Hello);
            paused = logs.Paused.Wait(descriptors.TimeLeft);
            if (paused)
            {
                // Descriptors are free again, but the accept waits out its back-off...
                descriptors.Free(int.MaxValue);
                answeredBeforeClose = waiting.Poll(Microseconds(Min(TimeSpan.FromMilliseconds(300), descriptors.TimeLeft)), SelectMode.SelectRead);
                // ... until a connection of the transport closes.
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
        Assert.True(paused, $"accepting did not pause while out of descriptors; the transport logged: {logs}");
        Assert.False(answeredBeforeClose, "the waiting client was accepted during the 30 s back-off, before any connection closed");
        Assert.True(answered, $"the waiting client was not accepted within {tookAfterClose.TotalSeconds:F1} s of a connection closing " +
            $"(the back-off is 30 s); the transport logged: {logs}");
        Assert.StartsWith("HTTP/1.1 200", answer);
        Assert.True(logs.Resumed.Wait(TimeSpan.FromSeconds(10)), $"no 'resumed' message; the transport logged: {logs}");
    }

    private static Socket NewClient() => new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

    /// <summary>One GET /hello, answered within 10 s: the response's first bytes.</summary>
    private static string Ask(Socket client)
    {
        client.Send(Hello);
        Assert.True(client.Poll(Microseconds(TimeSpan.FromSeconds(10)), SelectMode.SelectRead), "no answer within 10 s");
        return Receive(client);
    }

    private static string Receive(Socket client)
    {
        var buffer = new byte[4096];
        var n = client.Receive(buffer);
        return Encoding.ASCII.GetString(buffer, 0, n);
    }

    private static int Microseconds(TimeSpan t) => (int)Math.Max(1, Math.Min(int.MaxValue, t.TotalMicroseconds));

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>Records what the transport logs (category Uring.AspNetCore), without needing a descriptor.</summary>
    private sealed class TransportLog : ILoggerProvider, ILogger
    {
        private readonly List<string> _lines = new();

        /// <summary>Set when accepting pauses.</summary>
        public ManualResetEventSlim Paused { get; } = new();

        /// <summary>Set when accepting resumes.</summary>
        public ManualResetEventSlim Resumed { get; } = new();

        public ILogger CreateLogger(string categoryName) =>
            categoryName == "Uring.AspNetCore" ? this : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{logLevel}: {formatter(state, exception)}";
            lock (_lines)
                _lines.Add(line);
            if (line.Contains(" paused: ", StringComparison.Ordinal))
                Paused.Set();
            else if (line.Contains(" resumed ", StringComparison.Ordinal))
                Resumed.Set();
        }

        public override string ToString()
        {
            lock (_lines)
                return _lines.Count == 0 ? "nothing" : string.Join(" | ", _lines);
        }

        public void Dispose()
        {
        }
    }
}
