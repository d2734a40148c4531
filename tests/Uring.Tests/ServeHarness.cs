using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Uring.Cli;
using Uring.Cli.Serving;

namespace Uring.Tests;

/// <summary>
/// Runs <c>uring serve …</c> for tests: in-process through <see cref="Program.RunAsync"/>, or as
/// the built tool in a child process (for resource limits such as <c>ulimit -n</c>). Every wait
/// is bounded; Dispose stops the server and waits for it.
/// </summary>
internal sealed class ServeHarness : IAsyncDisposable
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    private readonly CancellationTokenSource _stop = new();
    private readonly LineWriter _output = new();
    private readonly LineWriter _error = new();
    private Task<int>? _server;
    private Process? _process;
    private readonly StringBuilder _processError = new();

    public IPEndPoint EndPoint { get; private set; } = null!;

    /// <summary>What the server wrote to stderr so far.</summary>
    public string Errors
    {
        get
        {
            if (_process is null)
                return _error.ToString();
            lock (_processError)
                return _processError.ToString();
        }
    }

    /// <summary>Starts <c>uring serve ARGS --port 0</c> in this process.</summary>
    public static async Task<ServeHarness> StartAsync(params string[] args)
    {
        var harness = new ServeHarness();
        harness._server = Task.Run(() => Program.RunAsync(["serve", .. args, "--port", "0"], harness._output, harness._error, harness._stop.Token));
        await harness.WaitForAddressAsync();
        return harness;
    }

    private async Task WaitForAddressAsync()
    {
        var first = await Task.WhenAny(_output.FirstLine, _server!).WaitAsync(Limit);
        if (first == _server)
            throw new InvalidOperationException($"the server ended with {await _server} before listening: {_error}");
        EndPoint = ParseEndPoint(await _output.FirstLine);
    }

    /// <summary>Starts a server with <paramref name="settings"/> in this process, as <c>uring serve</c> does (bind to port 0 for a free one).</summary>
    public static async Task<ServeHarness> StartAsync(ServerSettings settings)
    {
        var harness = new ServeHarness();
        harness._server = Task.Run(() => ServeCommand.RunAsync(settings, harness._output, harness._error, harness._stop.Token));
        await harness.WaitForAddressAsync();
        return harness;
    }

    /// <summary>Starts the built tool (<c>uring.dll</c>) as <c>bash -c 'ulimit -n FDS; exec dotnet uring.dll serve ARGS --port 0'</c>.</summary>
    public static async Task<ServeHarness> StartProcessAsync(int fileDescriptorLimit, params string[] args)
    {
        var harness = new ServeHarness();
        var dll = Path.Combine(AppContext.BaseDirectory, "uring.dll");
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var command = $"ulimit -n {fileDescriptorLimit} && exec '{host}' '{dll}' serve {string.Join(' ', args)} --port 0";
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        harness._process = Process.Start(psi)!;
        harness._process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (harness._processError)
                harness._processError.AppendLine(e.Data);
        };
        harness._process.BeginErrorReadLine();
        var line = await harness._process.StandardOutput.ReadLineAsync().WaitAsync(Limit);
        if (line is null)
        {
            await harness._process.WaitForExitAsync().WaitAsync(Limit);
            throw new InvalidOperationException($"uring serve exited with {harness._process.ExitCode} before listening: {harness.Errors}");
        }
        harness.EndPoint = ParseEndPoint(line);
        return harness;
    }

    /// <summary>True while the child process runs (always true in-process until stopped).</summary>
    public bool IsRunning => _process is null ? !_server!.IsCompleted : !_process.HasExited;

    /// <summary>Stops the server (SIGTERM for the child process) and returns its exit code.</summary>
    public async Task<int> StopAsync()
    {
        if (_process is not null)
        {
            if (!_process.HasExited)
                Kill(_process.Id, 15 /* SIGTERM */);
            await _process.WaitForExitAsync().WaitAsync(Limit);
            return _process.ExitCode;
        }
        _stop.Cancel();
        return await _server!.WaitAsync(Limit);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            if (_process is { HasExited: false })
                _process.Kill();
            _process?.Dispose();
            _stop.Dispose();
        }
    }

    /// <summary>A client connected to the server (NoDelay).</summary>
    public async Task<Socket> ConnectAsync()
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await s.ConnectAsync(EndPoint).WaitAsync(Limit);
        return s;
    }

    private static IPEndPoint ParseEndPoint(string line) => IPEndPoint.Parse(line[(line.LastIndexOf(' ') + 1)..]);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    /// <summary>A writer that reports its first line.</summary>
    private sealed class LineWriter : StringWriter
    {
        private readonly TaskCompletionSource<string> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Lock _lock = new();

        public Task<string> FirstLine => _first.Task;

        public override void WriteLine(string? value)
        {
            lock (_lock)
                base.WriteLine(value);
            _first.TrySetResult(value ?? "");
        }

        public override string ToString()
        {
            lock (_lock)
                return base.ToString();
        }
    }
}

/// <summary>Client-side helpers for the server tests.</summary>
internal static class ClientSocket
{
    /// <summary>Reads exactly <paramref name="length"/> bytes (fails on EOF or after <paramref name="timeout"/>).</summary>
    public static async Task<byte[]> ReceiveExactlyAsync(this Socket s, int length, TimeSpan timeout)
    {
        var buffer = new byte[length];
        using var cts = new CancellationTokenSource(timeout);
        var got = 0;
        while (got < length)
        {
            var n = await s.ReceiveAsync(buffer.AsMemory(got), SocketFlags.None, cts.Token);
            Assert.True(n > 0, $"the server closed the connection after {got} of {length} bytes");
            got += n;
        }
        return buffer;
    }

    /// <summary>Reads until the server closes the connection (EOF or reset) or <paramref name="timeout"/> passes (then fails).</summary>
    public static async Task<byte[]> ReceiveToEndAsync(this Socket s, TimeSpan timeout, int max = 64 << 20)
    {
        using var cts = new CancellationTokenSource(timeout);
        var all = new MemoryStream();
        var buffer = new byte[65536];
        try
        {
            while (all.Length < max)
            {
                var n = await s.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0)
                    break;
                all.Write(buffer, 0, n);
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the server did not close the connection within {timeout} (received {all.Length} bytes: {Encoding.ASCII.GetString(all.ToArray()[..(int)Math.Min(all.Length, 300)])})");
        }
        return all.ToArray();
    }
}
