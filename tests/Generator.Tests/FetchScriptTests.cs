using System.Diagnostics;

namespace Uring.Generator.Tests;

/// <summary>A fetch cache the tests of one run share, so that apt's indexes are downloaded once
/// and later updates are cheap; every test still has its own pin file.</summary>
public sealed class SharedFetchCache : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("uring-fetch-cache-").FullName;

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}

/// <summary>liburing-headers/fetch.sh: pins, sha256 checks, the uapi churn fallback and printing
/// pin lines, run against private pin files and caches so the real cache is untouched.</summary>
[Collection(GenerationCollection.Name)]
public sealed class FetchScriptTests(GenerationFixture generations, SharedFetchCache shared) : IDisposable, IClassFixture<SharedFetchCache>
{
    private readonly string _work = Directory.CreateTempSubdirectory("uring-fetch-").FullName;

    /// <summary>Where fetch.sh extracts and keeps its apt state: the shared cache unless a test needs a fresh one.</summary>
    private string _cache = shared.Directory;

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

    private (int Exit, string Stdout, string Stderr) Run(params string[] arguments)
    {
        var pinFile = PinFile;
        var start = new ProcessStartInfo("bash", [Path.Combine(generations.Pins.RepoRoot, "liburing-headers/fetch.sh"), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["URING_PINS_FILE"] = pinFile;
        start.Environment["URING_CACHE_DIR"] = _cache;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private string Default => generations.Pins.DefaultGeneration;

    private Pins.Line DefaultPin(string package) =>
        generations.Pins.Lines.Single(l => l.Generation == Default && l.Package == package);

    /// <summary>The default generation's pin lines, with one package's line changed.</summary>
    private string DefaultPinsWith(string package, Func<Pins.Line, Pins.Line> change) =>
        string.Join("\n", generations.Pins.Lines.Where(l => l.Generation == Default)
            .Select(l => l.Package == package ? change(l) : l)) + "\n";

    private static string PinLines(string generation) =>
        string.Join("\n", File.ReadAllLines(Path.Combine(Pins.Load().RepoRoot, "liburing-headers/pins.txt"))
            .Where(l => l.StartsWith(generation + " ", StringComparison.Ordinal))) + "\n";

    [Fact]
    public async Task ConcurrentFetchesOfOneGenerationExtractItOnce()
    {
        _cache = Path.Combine(_work, "cache"); // nothing extracted yet
        var other = generations.Pins.Generations.First(g => g != Default);
        File.WriteAllText(PinFile, PinLines(other));
        var runs = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => Run(other))));
        Assert.All(runs, run => Assert.True(run.Exit == 0, run.Stderr));
        Assert.Single(runs.Select(run => run.Stdout.Trim()).Distinct());
        Assert.Equal(1, runs.Count(run => run.Stderr.Contains("ready:", StringComparison.Ordinal)));
    }

    [Fact]
    public void UnknownGenerationIsAClearError()
    {
        var (exit, _, stderr) = Fetch("default x\n" + PinLines(Default), "9.99");
        Assert.NotEqual(0, exit);
        Assert.Contains("'9.99' is not in", stderr, StringComparison.Ordinal);
        Assert.Contains(Default, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongShaIsRejected()
    {
        var pins = DefaultPinsWith("liburing-dev", l => l with { Sha256 = new string('0', 64) });
        var (exit, _, stderr) = Fetch(pins, Default);
        Assert.NotEqual(0, exit);
        Assert.Contains("does not match the pin", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ALiburingPinThatLeftItsSuiteStopsWithInstructions()
    {
        var pins = DefaultPinsWith("liburing-dev", l => l with { Version = "0.0-0" });
        var (exit, _, stderr) = Fetch(pins, Default);
        Assert.NotEqual(0, exit);
        Assert.Contains($"is no longer in Debian {DefaultPin("liburing-dev").Suite}", stderr, StringComparison.Ordinal);
        Assert.Contains("To move the pin", stderr, StringComparison.Ordinal);
        Assert.Contains("--print-pins", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ASupersededUapiPinFallsBackWithinItsSeries()
    {
        var uapi = DefaultPin("linux-libc-dev");
        var series = uapi.Extra.Replace("series=", "", StringComparison.Ordinal);
        var pins = DefaultPinsWith("linux-libc-dev", l => l with { Version = series + ".0-0" });
        var (exit, stdout, stderr) = Fetch(pins, Default);
        Assert.True(exit == 0, stderr);
        Assert.Contains($"has left {uapi.Suite}; using {series}.", stderr, StringComparison.Ordinal);
        var sysroot = stdout.Trim().Split('\n')[^1];
        Assert.True(File.Exists(Path.Combine(sysroot, "usr/include/liburing.h")));
        Assert.True(File.Exists(Path.Combine(sysroot, "usr/include/linux/io_uring.h")));
        // Idempotent and offline once cached: the second run does no apt work.
        var again = Fetch(pins, Default);
        Assert.Equal(0, again.Exit);
        Assert.DoesNotContain("apt update", again.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void PrintedPinLinesAreWhatTheSuiteServes()
    {
        // The lines --print-pins gives for the default's suite, used as a pin file: fetch.sh
        // downloads those versions and checks each .deb against the printed sha256.
        var suite = DefaultPin("liburing-dev").Suite;
        File.WriteAllText(PinFile, "");
        var printed = Run("--print-pins", suite, "printed");
        Assert.True(printed.Exit == 0, printed.Stderr);
        var lines = printed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["liburing-dev", "liburing2", "linux-libc-dev"], lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2]));
        Assert.All(lines, l => Assert.Matches(@"^printed +\S+ +\S+ +\S+ +[0-9a-f]{64}( +series=\d+\.\d+)?$", l));

        var (exit, stdout, stderr) = Fetch("default printed\n" + printed.Stdout, "printed");
        Assert.True(exit == 0, stderr);
        Assert.True(File.Exists(Path.Combine(stdout.Trim().Split('\n')[^1], "usr/include/liburing.h")));
    }
}
