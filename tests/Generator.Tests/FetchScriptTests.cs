using System.Diagnostics;

namespace Uring.Generator.Tests;

/// <summary>liburing-headers/fetch.sh: pins, sha256 checks and the uapi churn fallback, run
/// against a private pin file and cache so the real cache is untouched.</summary>
[Collection(GenerationCollection.Name)]
public sealed class FetchScriptTests(GenerationFixture generations) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("uring-fetch-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { }
    }

    private (int Exit, string Stdout, string Stderr) Fetch(string pins, string generation)
    {
        File.WriteAllText(PinFile, pins);
        return Run(generation);
    }

    private string PinFile => Path.Combine(_work, "pins.txt");

    private (int Exit, string Stdout, string Stderr) Run(string generation)
    {
        var pinFile = PinFile;
        var start = new ProcessStartInfo("bash", [Path.Combine(generations.Pins.RepoRoot, "liburing-headers/fetch.sh"), generation])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["URING_PINS_FILE"] = pinFile;
        start.Environment["URING_CACHE_DIR"] = Path.Combine(_work, "cache");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string PinLines(string generation) =>
        string.Join("\n", File.ReadAllLines(Path.Combine(Pins.Load().RepoRoot, "liburing-headers/pins.txt"))
            .Where(l => l.StartsWith(generation + " ", StringComparison.Ordinal))) + "\n";

    [Fact]
    public async Task ConcurrentFetchesOfOneGenerationExtractItOnce()
    {
        File.WriteAllText(PinFile, PinLines("2.9"));
        var runs = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => Run("2.9"))));
        Assert.All(runs, run => Assert.True(run.Exit == 0, run.Stderr));
        Assert.Single(runs.Select(run => run.Stdout.Trim()).Distinct());
        Assert.Equal(1, runs.Count(run => run.Stderr.Contains("ready:", StringComparison.Ordinal)));
    }

    [Fact]
    public void UnknownGenerationIsAClearError()
    {
        var (exit, _, stderr) = Fetch("default x\n" + PinLines("2.15"), "9.99");
        Assert.NotEqual(0, exit);
        Assert.Contains("'9.99' is not in", stderr, StringComparison.Ordinal);
        Assert.Contains("2.15", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongShaIsRejected()
    {
        var pins = PinLines("2.15").Replace("4582dcfd95abb2bf5dd911bca3fe3fb35b955c55be1c95412cdac4823f0212df", new string('0', 64));
        var (exit, _, stderr) = Fetch(pins, "2.15");
        Assert.NotEqual(0, exit);
        Assert.Contains("does not match the pin", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ALiburingPinThatLeftItsSuiteStopsWithInstructions()
    {
        var pins = PinLines("2.15").Replace("liburing-dev    2.15-1 ", "liburing-dev    2.15-0.0 ");
        var (exit, _, stderr) = Fetch(pins, "2.15");
        Assert.NotEqual(0, exit);
        Assert.Contains("is no longer in Debian sid", stderr, StringComparison.Ordinal);
        Assert.Contains("To move the pin", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ASupersededUapiPinFallsBackWithinItsSeries()
    {
        var pins = PinLines("2.15").Replace("linux-libc-dev  7.2.13-1 ", "linux-libc-dev  7.2.0-0 ");
        var (exit, stdout, stderr) = Fetch(pins, "2.15");
        Assert.True(exit == 0, stderr);
        Assert.Contains("has left sid; using 7.2.", stderr, StringComparison.Ordinal);
        var sysroot = stdout.Trim().Split('\n')[^1];
        Assert.True(File.Exists(Path.Combine(sysroot, "usr/include/liburing.h")));
        Assert.True(File.Exists(Path.Combine(sysroot, "usr/include/linux/io_uring.h")));
        // Idempotent and offline once cached: the second run does no apt work.
        var again = Fetch(pins, "2.15");
        Assert.Equal(0, again.Exit);
        Assert.DoesNotContain("apt update", again.Stderr, StringComparison.Ordinal);
    }
}
