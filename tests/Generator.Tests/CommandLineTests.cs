namespace Uring.Generator.Tests;

/// <summary>What a user sees from uring-gen: one-line errors, notes only when asked for.</summary>
[Collection(GenerationCollection.Name)]
public sealed class CommandLineTests(GenerationFixture generations) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("uring-gen-cli-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { }
    }

    private static void AssertOneLineError((int Exit, string Stdout, string Stderr) run, string expected)
    {
        Assert.Equal(1, run.Exit);
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "expected one line on stderr, got:\n" + run.Stderr);
        Assert.StartsWith("uring-gen: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Stdout + run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownGenerationIsOneLineNamingThePins()
    {
        var run = UringGenProcess.Run("generate", "-g", "unknown", "-o", _work);
        AssertOneLineError(run, "unknown generation 'unknown'");
        Assert.Contains(generations.Pins.DefaultGeneration, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void BadSourceFlagsAreOneLineErrors()
    {
        AssertOneLineError(UringGenProcess.Run("generate", "--include", _work), "--include needs --library");
        AssertOneLineError(UringGenProcess.Run("generate", "--include", _work, "--library", "/nonexistent/liburing-ffi.so.2"), "no liburing.h in");
        AssertOneLineError(UringGenProcess.Run("generate", "--sysroot", Path.Combine(_work, "missing")), "no such directory");
        AssertOneLineError(UringGenProcess.Run("generate", "-g", generations.Pins.DefaultGeneration, "--sysroot", _work), "use one or the other");
        // A directory that is not a root file system with liburing in it.
        AssertOneLineError(UringGenProcess.Run("generate", "--sysroot", _work), "no liburing.h in");
    }

    [Fact]
    public void NotesAreListedOnlyWithVerbose()
    {
        var quiet = UringGenProcess.Run("generate", "-o", Path.Combine(_work, "quiet"));
        Assert.True(quiet.Exit == 0, quiet.Stderr);
        Assert.DoesNotContain("note:", quiet.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"notes: \d+ \(--verbose lists them\)", quiet.Stdout);

        var verbose = UringGenProcess.Run("generate", "-o", Path.Combine(_work, "verbose"), "--verbose");
        Assert.True(verbose.Exit == 0, verbose.Stderr);
        var notes = verbose.Stdout.Split('\n').Count(l => l.StartsWith("  note: ", StringComparison.Ordinal));
        Assert.Equal(generations.DefaultModel.Notes.Count, notes);
        Assert.True(notes > 0);
    }
}
