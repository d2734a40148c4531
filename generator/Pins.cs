using System.Diagnostics;

namespace Uring.Generator;

/// <summary>The pinned generations (liburing-headers/pins.txt) and the script that fetches them.</summary>
internal sealed class Pins
{
    public string RepoRoot { get; }
    public string DefaultGeneration { get; }
    public IReadOnlyList<string> Generations { get; }

    private Pins(string repoRoot, string defaultGeneration, IReadOnlyList<string> generations)
    {
        RepoRoot = repoRoot;
        DefaultGeneration = defaultGeneration;
        Generations = generations;
    }

    public static Pins Load()
    {
        var root = FindRepoRoot();
        var lines = File.ReadAllLines(Path.Combine(root, "liburing-headers/pins.txt"))
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            .ToList();
        var defaultGeneration = lines.First(l => l[0] == "default")[1];
        var generations = lines.Where(l => l[0] != "default").Select(l => l[0]).Distinct().ToList();
        return new Pins(root, defaultGeneration, generations);
    }

    private static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "liburing-headers/pins.txt")))
                    return dir.FullName;
        }
        throw new InvalidOperationException("liburing-headers/pins.txt not found above the current directory: run uring-gen inside the repository.");
    }

    /// <summary>Runs fetch.sh (idempotent, offline once cached) and returns the sysroot.</summary>
    public string Fetch(string generation)
    {
        if (!Generations.Contains(generation))
            throw new ArgumentException($"unknown generation '{generation}'; pinned: {string.Join(", ", Generations)}");
        var script = Path.Combine(RepoRoot, "liburing-headers/fetch.sh");
        var start = new ProcessStartInfo("bash", [script, generation])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = false,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"fetch.sh {generation} failed (exit {process.ExitCode}); see the messages above.");
        return output.Trim().Split('\n')[^1];
    }

    /// <summary>liburing packages of a fetched generation (the uapi package is left out on purpose:
    /// the bindings must not depend on which build of it was used).</summary>
    public static IReadOnlyList<string> Packages(string sysroot)
    {
        var resolved = Path.Combine(Path.GetDirectoryName(sysroot.TrimEnd('/'))!, "resolved.txt");
        return File.ReadAllLines(resolved).Where(l => l.StartsWith("liburing", StringComparison.Ordinal)).ToList();
    }
}
