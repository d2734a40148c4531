using System.Diagnostics;

namespace Uring.Bench;

/// <summary>
/// A benchmark case in a fresh process of this program, so that its CPU time, thread pool, JIT
/// tiers and profile-guided code are its own and not shaped by the cases measured before it.
/// It is driven over stdin/stdout: it prints one line when warmed up, then answers each request
/// line with one line; "exit" ends it. A child that fails ends the benchmark with its stderr.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;
    private readonly string _name;

    public ChildProcess(params string[] arguments)
    {
        _name = string.Join(' ', arguments);
        var start = new ProcessStartInfo(Environment.ProcessPath!, [typeof(ChildProcess).Assembly.Location, .. arguments])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {_name}");
        _stderr = _process.StandardError.ReadToEndAsync();
        Ready = ReadLine();
    }

    /// <summary>The line the child printed when it was ready.</summary>
    public string Ready { get; }

    /// <summary>Sends one request line and returns the child's answer.</summary>
    public string Request(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
        return ReadLine();
    }

    /// <summary>Asks the child to exit and checks that it ended cleanly.</summary>
    public void Finish()
    {
        _process.StandardInput.WriteLine("exit");
        _process.StandardInput.Flush();
        if (!_process.WaitForExit(30_000) || _process.ExitCode != 0)
            throw new InvalidOperationException($"{_name} did not end cleanly: {_stderr.Result}");
    }

    /// <summary>The child's side: answers request lines with <paramref name="answer"/> until "exit".</summary>
    public static int Serve(string ready, Func<string[], string> answer)
    {
        Console.WriteLine(ready);
        while (Console.ReadLine() is { } command && command != "exit")
            Console.WriteLine(answer(command.Split(' ')));
        return 0;
    }

    private string ReadLine()
    {
        var line = _process.StandardOutput.ReadLine();
        if (line is null)
        {
            _process.WaitForExit();
            throw new InvalidOperationException($"{_name} failed ({_process.ExitCode}): {_stderr.Result}");
        }
        return line;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill();
        _process.Dispose();
    }
}
