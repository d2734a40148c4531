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
        using var closing = CloseWhilePaused.NewClient();
        closing.Connect(endPoint);
        Assert.StartsWith("HTTP/1.1 200", CloseWhilePaused.Ask(closing, Hello));
        using var waiting = CloseWhilePaused.NewClient();

        CloseWhilePaused.Run(descriptors, endPoint, closing, waiting, Hello, limit => logs.Paused.Wait(limit))
            .Check("HTTP/1.1 200", () => $"the transport logged: {logs}");
        Assert.True(logs.Resumed.Wait(TimeSpan.FromSeconds(10)), $"no 'resumed' message; the transport logged: {logs}");
    }

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
