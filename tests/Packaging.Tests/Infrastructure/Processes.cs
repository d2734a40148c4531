using System.Diagnostics;

namespace Uring.Packaging.Tests.Infrastructure;

public sealed record ProcessResult(string CommandLine, int ExitCode, string StdOut, string StdErr, TimeSpan Elapsed)
{
    public string Describe() => $"{CommandLine}\nexit {ExitCode} after {Elapsed.TotalSeconds:F1} s\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";

    public ProcessResult EnsureSuccess() => ExitCode == 0 ? this : throw new InvalidOperationException("failed: " + Describe());
}

public static class Processes
{
    /// <summary>Runs a program to its end (killed, with its children, after the timeout).
    /// <paramref name="environment"/> values replace inherited ones; a null value removes the variable.</summary>
    public static ProcessResult Run(string file, IEnumerable<string> args, string workingDirectory, TimeSpan timeout,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var psi = StartInfo(file, args, workingDirectory, environment);
        var commandLine = $"(in {workingDirectory}) {file} {string.Join(' ', psi.ArgumentList)}";
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{commandLine} did not finish within {timeout}");
        }
        process.WaitForExit();
        return new ProcessResult(commandLine, process.ExitCode, stdout.Result, stderr.Result, clock.Elapsed);
    }

    /// <summary>Starts a program that keeps running (a server), with standard input, output and
    /// error redirected; the caller stops it. <paramref name="environment"/> as for <see cref="Run"/>.</summary>
    public static Process Start(string file, IEnumerable<string> args, string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var psi = StartInfo(file, args, workingDirectory, environment);
        psi.RedirectStandardInput = true;
        return Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
    }

    private static ProcessStartInfo StartInfo(string file, IEnumerable<string> args, string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment)
    {
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
                psi.Environment.Remove(name);
            else
                psi.Environment[name] = value;
        }
        return psi;
    }
}
