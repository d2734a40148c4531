using System.Diagnostics;
using Xunit.Abstractions;

namespace Uring.Generator.Tests;

/// <summary>The checked-in bindings (and python/uring/_errno.py) are exactly what the generator
/// makes from the pins, whichever way it is told where the headers are.</summary>
[Collection(GenerationCollection.Name)]
public sealed class CheckedInBindingsTests(GenerationFixture generations, ITestOutputHelper output) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("uring-gen-out-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { }
    }

    private static void AssertSameTree(string expectedDirectory, IReadOnlyDictionary<string, string> actual)
    {
        var expected = Directory.EnumerateFiles(expectedDirectory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(expectedDirectory, f))
            .Where(f => f.EndsWith(".g.cs", StringComparison.Ordinal) || f == "api-model.json")
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Equal(expected, actual.Keys.Order(StringComparer.Ordinal).ToList());
        var different = actual.Where(pair => File.ReadAllText(Path.Combine(expectedDirectory, pair.Key)) != pair.Value)
            .Select(pair => pair.Key).ToList();
        Assert.True(different.Count == 0, "files differ from the checked-in bindings: " + string.Join(", ", different));
    }

    /// <summary>What a generate run wrote into a folder, in the shape <see cref="Emitter.EmitAll"/> returns.</summary>
    private static Dictionary<string, string> ReadTree(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(directory, f))
            .Where(f => f.EndsWith(".g.cs", StringComparison.Ordinal) || f == "api-model.json")
            .ToDictionary(f => f, f => File.ReadAllText(Path.Combine(directory, f)), StringComparer.Ordinal);

    private void AssertSameAsCheckedIn(Model.ApiModel model)
    {
        var emitter = new Emitter(model);
        AssertSameTree(generations.CheckedInDirectory, emitter.EmitAll());
        Assert.True(File.ReadAllText(generations.CheckedInPythonErrno) == emitter.EmitPythonErrno(),
            "python/uring/_errno.py differs from what the generator makes");
    }

    [Fact]
    public void DefaultGenerationReproducesTheCheckedInFilesByteForByte()
    {
        AssertSameAsCheckedIn(generations.DefaultModel);
    }

    [Fact]
    public void OutputDoesNotDependOnWhichLinuxLibcDevIsInstalled()
    {
        // The default's liburing with the uapi headers (linux-libc-dev) of another pin, of
        // another kernel series: composed in a pin file of its own, fetched into a private cache.
        var pins = generations.Pins;
        var defaultUapi = pins.Lines.Single(l => l.Generation == pins.DefaultGeneration && l.Package == "linux-libc-dev");
        var otherUapi = pins.Lines
            .Where(l => l.Package == "linux-libc-dev" && Series(l.Version) != Series(defaultUapi.Version))
            .MaxBy(l => Series(l.Version))
            ?? throw new InvalidOperationException("no other pin has a linux-libc-dev of another series");
        const string composed = "uapi-check";
        var lines = pins.Lines.Where(l => l.Generation == pins.DefaultGeneration)
            .Concat(pins.Lines.Where(l => l.Generation == pins.DefaultGeneration && l.Package != "linux-libc-dev").Select(l => l with { Generation = composed }))
            .Append(otherUapi with { Generation = composed });
        var pinFile = Path.Combine(_work, "pins.txt");
        File.WriteAllLines(pinFile, [$"default {pins.DefaultGeneration}", .. lines.Select(l => l.ToString())]);
        output.WriteLine($"liburing of {pins.DefaultGeneration} with linux-libc-dev {otherUapi.Version} (pinned for {otherUapi.Generation}) instead of {defaultUapi.Version}");

        var composedPins = Pins.Load(pinFile, Path.Combine(_work, "cache"));
        var uapiHeader = Path.Combine(composedPins.Fetch(composed), "usr/include/linux/version.h");
        var series = otherUapi.Version.Split('.');
        Assert.Contains($"#define LINUX_VERSION_MAJOR {series[0]}\n#define LINUX_VERSION_PATCHLEVEL {series[1]}\n",
            File.ReadAllText(uapiHeader), StringComparison.Ordinal);
        AssertSameAsCheckedIn(Generation.Build(composedPins, composed).Model);

        static Version Series(string version) => Version.Parse(string.Join('.', version.Split('.').Take(2)));
    }

    [Fact]
    public void SysrootFlagOnThePinnedSysrootReproducesTheCheckedInFiles()
    {
        var sysroot = generations.Pins.Fetch(generations.Pins.DefaultGeneration);
        var outputDirectory = Path.Combine(_work, "sysroot");
        var python = Path.Combine(_work, "sysroot-errno.py");
        var run = UringGenProcess.Run("generate", "--sysroot", sysroot, "-o", outputDirectory, "--python", python);
        Assert.True(run.Exit == 0, run.Stderr);
        AssertSameTree(generations.CheckedInDirectory, ReadTree(outputDirectory));
        Assert.Equal(File.ReadAllText(generations.CheckedInPythonErrno), File.ReadAllText(python));
    }

    [Fact]
    public void IncludeAndLibraryFlagsReproduceTheCheckedInFiles()
    {
        var sysroot = generations.Pins.Fetch(generations.Pins.DefaultGeneration);
        var outputDirectory = Path.Combine(_work, "include");
        var python = Path.Combine(_work, "include-errno.py");
        var run = UringGenProcess.Run("generate", "--include", Path.Combine(sysroot, "usr/include"),
            "--library", Path.Combine(sysroot, "usr/lib/x86_64-linux-gnu/liburing-ffi.so.2"), "-o", outputDirectory, "--python", python);
        Assert.True(run.Exit == 0, run.Stderr);
        AssertSameTree(generations.CheckedInDirectory, ReadTree(outputDirectory));
        Assert.Equal(File.ReadAllText(generations.CheckedInPythonErrno), File.ReadAllText(python));
    }

    [Fact]
    public void TwoRunsGiveIdenticalOutput()
    {
        var first = new Emitter(Generation.Build(generations.Pins, generations.Pins.DefaultGeneration).Model).EmitAll();
        var second = new Emitter(Generation.Build(generations.Pins, generations.Pins.DefaultGeneration).Model).EmitAll();
        Assert.Equal(first.Keys, second.Keys);
        foreach (var key in first.Keys)
            Assert.Equal(first[key], second[key]);
    }

    [Fact]
    public void FullGenerationTime_IsReported()
    {
        // Measured, not asserted: timings belong in the README, not in pass/fail.
        var clock = Stopwatch.StartNew();
        var result = Generation.Build(generations.Pins, generations.Pins.DefaultGeneration);
        var files = new Emitter(result.Model).EmitAll();
        var total = clock.Elapsed;
        output.WriteLine($"parse {result.ParseTime.TotalMilliseconds:F0} ms, model {result.ModelTime.TotalMilliseconds:F0} ms, " +
                         $"with emit {total.TotalMilliseconds:F0} ms for {files.Count} files");
        Assert.True(files.Count > 50);
    }

    [Fact]
    public void EveryGeneratedFileIsMarkedGenerated()
    {
        var emitter = new Emitter(generations.DefaultModel);
        foreach (var (name, content) in emitter.EmitAll().Where(f => f.Key.EndsWith(".g.cs", StringComparison.Ordinal)))
            Assert.True(content.StartsWith("// <auto-generated>", StringComparison.Ordinal), name);
        Assert.StartsWith("# <auto-generated>", emitter.EmitPythonErrno(), StringComparison.Ordinal);
    }
}
