using System.Diagnostics;

namespace Uring.Generator.Tests;

/// <summary>Runs the uring-gen command line (the build copies it next to the tests) as a user would.</summary>
internal static class UringGenProcess
{
    public static (int Exit, string Stdout, string Stderr) Run(params string[] arguments)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "uring-gen.dll");
        var start = new ProcessStartInfo("dotnet", [dll, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Pins.Load().RepoRoot,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"uring-gen {string.Join(' ', arguments)} did not finish in 5 minutes");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
