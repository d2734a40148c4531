using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Uring.Cli.CommandLine;
using Uring.Cli.Serving;

namespace Uring.Cli;

/// <summary>
/// Entry point of the <c>uring</c> tool: <c>probe</c>, <c>cp</c>, <c>serve echo|http</c>.
/// Exit codes: 0 success, 1 the command failed (message on stderr), 2 usage error (bad
/// command line), 130 interrupted (SIGINT/SIGTERM during <c>cp</c>).
/// </summary>
public static class Program
{
    /// <summary>The command ran and succeeded.</summary>
    public const int Success = 0;

    /// <summary>The command ran and failed (I/O error, refused input); the reason is on stderr.</summary>
    public const int Failure = 1;

    /// <summary>The command line is wrong: unknown command or option, missing operand, value out of range.</summary>
    public const int UsageError = 2;

    /// <summary>Stopped by SIGINT or SIGTERM before it finished (cp).</summary>
    public const int Interrupted = 130;

    /// <summary>Runs the tool; SIGINT and SIGTERM stop a running command.</summary>
    public static async Task<int> Main(string[] args)
    {
        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        return await RunAsync(args, Console.Out, Console.Error, stop.Token);
    }

    /// <summary>Parses <paramref name="args"/> and runs the command; returns the exit code. Never throws for bad input or I/O failures.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken stop = default)
    {
        if (args is ["help", .. var topic])
            args = [.. topic, "--help"];
        var root = BuildCommands(output, error, stop);
        var parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors.Select(e => e.Message).Distinct())
                error.WriteLine($"uring: {e}");
            var path = string.Join(' ', parsed.CommandResult.Command is RootCommand ? [] : CommandPath(parsed.CommandResult));
            error.WriteLine($"Try 'uring {(path.Length > 0 ? path + " " : "")}--help'.");
            return UsageError;
        }
        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null, // Main handles the signals; a running server stops cleanly
        };
        return await parsed.InvokeAsync(configuration, stop);
    }

    private static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new Stack<string>();
        for (var r = result; r is not null && r.Command is not RootCommand; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Push(r.Command.Name);
        return names;
    }

    private static RootCommand BuildCommands(TextWriter output, TextWriter error, CancellationToken stop)
    {
        var root = new RootCommand("uring: io_uring through the Uring façade — probe the kernel, copy files, run sample servers.");

        var probe = new Command("probe", "Print the kernel, liburing, ring setup flags, features and which opcodes the running kernel supports.");
        probe.SetAction(_ => Guard(error, () => Task.FromResult(ProbeCommand.Run(output))));
        root.Subcommands.Add(probe);

        root.Subcommands.Add(BuildCopy(output, error));
        root.Subcommands.Add(BuildServe(output, error));
        return root;
    }

    private static Command BuildCopy(TextWriter output, TextWriter error)
    {
        var source = new Argument<string>("SRC") { Description = "file to copy: regular file, FIFO, /proc file, device (see --max-bytes)" };
        var destination = new Argument<string>("DST") { Description = "destination file, or an existing directory to copy into" };
        var depth = OptionValues.Count("--depth", "buffers in flight", CopyCommand.MinDepth, CopyCommand.MaxDepth, CopyCommand.DefaultDepth);
        var blockSize = OptionValues.Bytes("--block-size", "bytes per buffer", CopyCommand.MinBlockSize, CopyCommand.MaxBlockSize, CopyCommand.DefaultBlockSize);
        var maxBytes = OptionValues.Bytes("--max-bytes", "copy at most this many bytes; required for character devices such as /dev/zero, which may never end", 0, 1L << 50, null);
        var cp = new Command("cp", "Copy SRC to DST through io_uring. A regular destination is written to a temporary file next to it and renamed into place, so a failed copy leaves an existing DST untouched; holes of a sparse SRC stay holes.")
        {
            source, destination, depth, blockSize, maxBytes,
        };
        cp.Validators.Add(result =>
        {
            if (!TryGetValue(result, depth, out var d) || !TryGetValue(result, blockSize, out var b))
                return; // the option's own error says what is wrong
            if (d * b > CopyCommand.MaxBytesInFlight)
                result.AddError($"--depth x --block-size is {OptionValues.FormatBytes(d * b)}; at most {OptionValues.FormatBytes(CopyCommand.MaxBytesInFlight)} may be in flight");
        });
        cp.SetAction((result, token) => Guard(error, () =>
        {
            long? limit = result.GetResult(maxBytes) is null ? null : result.GetValue(maxBytes);
            var options = new CopyOptions(result.GetValue(depth), (int)result.GetValue(blockSize), limit);
            return CopyCommand.RunAsync(result.GetValue(source)!, result.GetValue(destination)!, options, output, token);
        }, token));
        return cp;
    }

    private static Command BuildServe(TextWriter output, TextWriter error)
    {
        var serve = new Command("serve", "Sample servers on the façade (127.0.0.1:8000 by default; SIGINT or SIGTERM stops them).");

        var echo = new Command("echo", "Echo every byte back: multishot accept, buffer-select receive from a provided buffer ring, send from the received buffer.");
        var engine = OptionValues.OneOf("--engine", "ring: the façade; socket: .NET's Socket, for comparison", "ring", "socket");
        var echoOptions = new ServeOptionSet(idleTimeout: TimeSpan.Zero, headerTimeout: null);
        echoOptions.AddTo(echo);
        echo.Options.Add(engine);
        echo.SetAction((result, token) => Guard(error, () =>
            ServeCommand.RunAsync(echoOptions.Read(result, result.GetValue(engine) == "socket" ? ServerKind.SocketEcho : ServerKind.Echo), output, error, token), token));
        serve.Subcommands.Add(echo);

        var http = new Command("http", "Answer GET and HEAD with 'Hello, world' (HTTP/1.1, keep-alive, pipelining; strict request parsing, timeouts).");
        var httpOptions = new ServeOptionSet(idleTimeout: ServerSettings.DefaultIdleTimeout, headerTimeout: ServerSettings.DefaultHeaderTimeout);
        httpOptions.AddTo(http);
        http.SetAction((result, token) => Guard(error, () => ServeCommand.RunAsync(httpOptions.Read(result, ServerKind.Http), output, error, token), token));
        serve.Subcommands.Add(http);
        return serve;
    }

    /// <summary>The options both servers take.</summary>
    private sealed class ServeOptionSet(TimeSpan idleTimeout, TimeSpan? headerTimeout)
    {
        private readonly Option<int> _port = OptionValues.Port(8000);
        private readonly Option<IPAddress> _address = OptionValues.Address(IPAddress.Loopback);
        private readonly Option<int> _buffers = OptionValues.Count("--buffers", "buffers in the provided buffer ring", 1, 32768, ServerSettings.DefaultBufferCount, powerOfTwo: true);
        private readonly Option<long> _bufferSize = OptionValues.Bytes("--buffer-size", "bytes per ring buffer", ServerSettings.MinBufferSize, ServerSettings.MaxBufferSize, ServerSettings.DefaultBufferSize);
        private readonly Option<double> _idle = OptionValues.Seconds("--idle-timeout", "close a connection that sends nothing for this long between requests", 86400, idleTimeout);
        private readonly Option<double> _send = OptionValues.Seconds("--send-timeout", "close a connection whose peer accepts no data for this long", 86400, ServerSettings.DefaultSendTimeout);
        private readonly Option<double>? _header = headerTimeout is { } h ? OptionValues.Seconds("--header-timeout", "answer 408 and close when a request's head (and body) has not fully arrived this long after its first byte", 86400, h) : null;

        public void AddTo(Command command)
        {
            command.Options.Add(_port);
            command.Options.Add(_address);
            command.Options.Add(_buffers);
            command.Options.Add(_bufferSize);
            if (_header is not null)
                command.Options.Add(_header);
            command.Options.Add(_idle);
            command.Options.Add(_send);
            command.Validators.Add(result =>
            {
                if (!TryGetValue(result, _buffers, out var count) || !TryGetValue(result, _bufferSize, out var size))
                    return;
                var total = count * size;
                if (total > ServerSettings.MaxBufferRingBytes)
                    result.AddError($"--buffers x --buffer-size is {OptionValues.FormatBytes(total)}; the buffer ring may hold at most {OptionValues.FormatBytes(ServerSettings.MaxBufferRingBytes)}");
            });
        }

        public ServerSettings Read(ParseResult result, ServerKind kind) => new()
        {
            Kind = kind,
            EndPoint = new IPEndPoint(result.GetValue(_address)!, result.GetValue(_port)),
            BufferCount = result.GetValue(_buffers),
            BufferSize = (int)result.GetValue(_bufferSize),
            HeaderTimeout = _header is null ? TimeSpan.Zero : TimeSpan.FromSeconds(result.GetValue(_header)),
            IdleTimeout = TimeSpan.FromSeconds(result.GetValue(_idle)),
            SendTimeout = TimeSpan.FromSeconds(result.GetValue(_send)),
        };
    }

    /// <summary>An option's value for a cross-option check; false when the option itself failed to parse.</summary>
    private static bool TryGetValue<T>(System.CommandLine.Parsing.CommandResult result, Option<T> option, out T value)
    {
        try
        {
            value = result.GetValue(option)!;
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default!;
            return false;
        }
    }

    /// <summary>Runs a command's body: failures become one line on stderr and exit code 1, never a stack trace.</summary>
    private static async Task<int> Guard(TextWriter error, Func<Task<int>> body, CancellationToken stop = default)
    {
        try
        {
            return await body();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            error.WriteLine("uring: interrupted");
            return Interrupted;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or CommandException or System.Net.Sockets.SocketException)
        {
            error.WriteLine($"uring: {e.Message}");
            return Failure;
        }
        catch (Exception e)
        {
            // A bug, not bad input: still one line (URING_DEBUG=1 adds the stack trace).
            error.WriteLine($"uring: unexpected {e.GetType().Name}: {e.Message}");
            if (Environment.GetEnvironmentVariable("URING_DEBUG") == "1")
                error.WriteLine(e);
            return Failure;
        }
    }
}
