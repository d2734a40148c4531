using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;

namespace Uring.Examples.EmbedPython.Tests;

public sealed class EmbedPythonTests : IDisposable
{
    private static readonly string s_program = typeof(EmbedPythonTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "EmbedPythonDll").Value!;

    // The muxer of the runtime running this test (the test host may be an apphost, not dotnet).
    private static readonly string s_dotnet = Path.GetFullPath(Path.Combine(
        System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet"));

    private readonly List<string> _temporaryFiles = new();

    public void Dispose()
    {
        foreach (var path in _temporaryFiles)
            File.Delete(path);
    }

    [Fact]
    public void TheBundledScriptDrivesARingFromEmbeddedPython()
    {
        var run = Run();
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(
            new[]
            {
                "read: 8192 bytes, identical to the file",
                "lent buffer: BufferBusyException",
                "cancel: Cancelled, buffer Released",
                "closed fd: UringIOException EBADF from IORING_OP_READ",
                "negative fd: ArgumentOutOfRangeException",
            },
            run.StandardOutput.Split('\n').Take(5));
        Assert.Matches(@"\ndone \(Python 3\.\d+\.\d+ inside \.NET\)\n$", run.StandardOutput);
    }

    [Theory]
    [InlineData("/usr/bin:/bin", "python3 on PATH")]  // Debian's python3 is the one on PATH
    [InlineData("/nonexistent", "/usr/bin/python3")]  // no python3 on PATH: Debian's is asked
    public void ItEmbedsTheLibPythonOfDebiansPython3(string path, string foundBy)
    {
        // Debian's shared library, which the build's set-up installs (libpython3.X).
        var run = Run(environment: new() { ["PATH"] = path });
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches($@"^embedding /usr/lib/[^ ]*libpython3\.\d+\.so\.1\.0 \(from {Regex.Escape(foundBy)}\)\n", run.StandardError);
        Assert.Contains("cancel: Cancelled, buffer Released", run.StandardOutput);
    }

    [Fact]
    public void PythonnetPydllNamesTheLibrary()
    {
        var library = Run(environment: new() { ["PATH"] = "/nonexistent" }).StandardError.Split(' ')[1];
        var run = Run(environment: new() { ["PYTHONNET_PYDLL"] = library, ["PATH"] = "/nonexistent" });
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.StartsWith($"embedding {library} (from PYTHONNET_PYDLL)\n", run.StandardError);
    }

    [Fact]
    public void TheScriptGetsItsArgumentsAndItsExitStatusIsTheProgramsStatus()
    {
        var script = Script("import sys\nprint('argv', sys.argv[1:], __name__)\nsys.exit(7)\n");
        var run = Run(script, "a", "b c");
        Assert.True(run.ExitCode == 7, run.ToString());
        Assert.Equal("argv ['a', 'b c'] __main__\n", run.StandardOutput);
    }

    [Fact]
    public void AnExceptionInTheScriptIsPrintedWithItsTracebackAndExitsWith1()
    {
        var script = Script("def fail():\n    raise ValueError('boom')\n\nfail()\n");
        var run = Run(script);
        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains($"File \"{script}\", line 2, in fail", run.StandardError);
        Assert.Contains("ValueError: boom", run.StandardError);
    }

    [Fact]
    public void AMissingLibPythonIsAClearErrorWithStatus2()
    {
        var run = Run(environment: new() { ["PYTHONNET_PYDLL"] = "/nonexistent/libpython3.99.so" });
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("PYTHONNET_PYDLL=/nonexistent/libpython3.99.so: no such file", run.StandardError);
        Assert.Equal("", run.StandardOutput);
    }

    private string Script(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"embed-python-test-{Guid.NewGuid():N}.py");
        File.WriteAllText(path, text);
        _temporaryFiles.Add(path);
        return path;
    }

    private static ProgramRun Run(params string[] arguments) => Run(null, arguments);

    private static ProgramRun Run(Dictionary<string, string>? environment, params string[] arguments)
    {
        Assert.True(File.Exists(s_program), $"{s_program} is not built");
        var start = new ProcessStartInfo(s_dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(s_program);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.Environment.Remove("PYTHONNET_PYDLL");
        foreach (var (name, value) in environment ?? new())
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"EmbedPython {string.Join(' ', arguments)} ran for more than 2 minutes");
        }
        return new ProgramRun(process.ExitCode, stdout.Result, stderr.Result);
    }

    private sealed record ProgramRun(int ExitCode, string StandardOutput, string StandardError)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StandardOutput}\n--- stderr\n{StandardError}";
    }
}
