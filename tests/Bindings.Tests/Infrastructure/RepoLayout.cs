using System.Diagnostics;
using System.Reflection;

namespace Uring.Bindings.Tests.Infrastructure;

/// <summary>Where things are in the checkout the tests were built from.</summary>
public static class RepoLayout
{
    private static readonly Lazy<string> s_root = new(FindRoot);
    private static readonly Dictionary<string, string> s_sysroots = [];

    /// <summary>The repository root: the nearest ancestor of the test assembly holding the solution or liburing-headers/.</summary>
    public static string Root => s_root.Value;

    public static string GeneratedDirectory => Path.Combine(Root, "src", "Bindings", "Generated");

    public static string ModelPath => Path.Combine(GeneratedDirectory, "api-model.json");

    public static string PinsPath => Path.Combine(Root, "liburing-headers", "pins.txt");

    /// <summary>The generator's command line, built with the solution (see Bindings.Tests.csproj).</summary>
    public static string UringGen
    {
        get
        {
            var path = typeof(RepoLayout).Assembly.GetCustomAttributes<System.Reflection.AssemblyMetadataAttribute>()
                .Single(a => a.Key == "UringGen").Value!;
            return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: build the solution first", path);
        }
    }

    /// <summary>A fixture shipped with this test project (copied to the output directory).</summary>
    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    /// <summary>
    /// The extracted sysroot of a pinned generation, brought by liburing-headers/fetch.sh
    /// (idempotent, offline once cached): headers under usr/include, the library under usr/lib.
    /// </summary>
    public static string Sysroot(string generation)
    {
        lock (s_sysroots)
        {
            if (s_sysroots.TryGetValue(generation, out var cached))
                return cached;
            var script = Path.Combine(Root, "liburing-headers", "fetch.sh");
            var result = Processes.Run("bash", [script, generation], Root, TimeSpan.FromMinutes(5));
            if (result.ExitCode != 0)
                throw new InvalidOperationException($"fetch.sh {generation} failed ({result.ExitCode}):\n{result.StdErr}");
            var path = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();
            if (!Directory.Exists(Path.Combine(path, "usr", "include")))
                throw new InvalidOperationException($"fetch.sh {generation} printed '{path}', which holds no usr/include");
            s_sysroots[generation] = path;
            return path;
        }
    }

    /// <summary>The pinned liburing-ffi.so.2 of a generation (symlinks resolved).</summary>
    public static string PinnedLibrary(string generation)
    {
        var link = Path.Combine(Sysroot(generation), "usr", "lib", "x86_64-linux-gnu", "liburing-ffi.so.2");
        var target = File.ResolveLinkTarget(link, returnFinalTarget: true);
        return target?.FullName ?? link;
    }

    /// <summary>The pins file's lines for one generation: (package, version, sha256).</summary>
    public static IReadOnlyList<(string Package, string Version)> Pins(string generation) =>
        File.ReadAllLines(PinsPath)
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 4 && f[0] == generation)
            .Select(f => (f[2], f[3]))
            .ToList();

    public static string DefaultGeneration() =>
        File.ReadAllLines(PinsPath)
            .Select(l => l.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .First(f => f.Length >= 2 && f[0] == "default")[1];

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Uring.sln")) ||
                File.Exists(Path.Combine(dir.FullName, "Uring.slnx")) ||
                Directory.Exists(Path.Combine(dir.FullName, "liburing-headers")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException(
            $"No ancestor of {AppContext.BaseDirectory} holds Uring.sln or liburing-headers/: run the tests from a checkout.");
    }
}

public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr);

public static class Processes
{
    public static ProcessResult Run(string file, IEnumerable<string> args, string workingDirectory, TimeSpan timeout)
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
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}");
        }
        process.WaitForExit();
        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result);
    }
}
