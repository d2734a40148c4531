using System.Diagnostics;

namespace Uring.Generator;

/// <summary>The pinned generations (liburing-headers/pins.txt) and the script that fetches them.</summary>
internal sealed class Pins
{
    /// <summary>One package line: generation, Debian suite, package, version, sha256 and the rest.</summary>
    public sealed record Line(string Generation, string Suite, string Package, string Version, string Sha256, string Extra)
    {
        public override string ToString() => $"{Generation} {Suite} {Package} {Version} {Sha256}{(Extra.Length > 0 ? " " + Extra : "")}";
    }

    public string RepoRoot { get; }
    public string PinsFile { get; }
    public string DefaultGeneration { get; }
    public IReadOnlyList<string> Generations { get; }
    public IReadOnlyList<Line> Lines { get; }

    /// <summary>Where fetch.sh extracts; null for its own default (liburing-headers/cache).</summary>
    private readonly string? _cacheDirectory;

    private Pins(string repoRoot, string pinsFile, string defaultGeneration, IReadOnlyList<Line> lines, string? cacheDirectory)
    {
        RepoRoot = repoRoot;
        PinsFile = pinsFile;
        DefaultGeneration = defaultGeneration;
        Lines = lines;
        Generations = lines.Select(l => l.Generation).Distinct().ToList();
        _cacheDirectory = cacheDirectory;
    }

    /// <summary>The repository's pins, or another pin file with its own fetch cache (tests).</summary>
    public static Pins Load(string? pinsFile = null, string? cacheDirectory = null)
    {
        var root = FindRepoRoot();
        pinsFile ??= Path.Combine(root, "liburing-headers/pins.txt");
        var fields = File.ReadAllLines(pinsFile)
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            .ToList();
        var defaultLine = fields.FirstOrDefault(l => l[0] == "default" && l.Length >= 2)
            ?? throw new InvalidOperationException($"{pinsFile} has no 'default GENERATION' line");
        var lines = fields.Where(l => l[0] != "default").Select(l => l.Length >= 5
                ? new Line(l[0], l[1], l[2], l[3], l[4], string.Join(' ', l.Skip(5)))
                : throw new InvalidOperationException($"{pinsFile}: '{string.Join(' ', l)}' is not 'generation suite package version sha256'"))
            .ToList();
        return new Pins(root, pinsFile, defaultLine[1], lines, cacheDirectory);
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

    /// <summary>The liburing release a generation pins (upstream part of its liburing-dev version).</summary>
    public string? LiburingVersion(string generation) =>
        Lines.FirstOrDefault(l => l.Generation == generation && l.Package == "liburing-dev")?.Version.Split('-')[0];

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
        start.Environment["URING_PINS_FILE"] = PinsFile;
        if (_cacheDirectory is not null)
            start.Environment["URING_CACHE_DIR"] = _cacheDirectory;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"fetch.sh {generation} failed (exit {process.ExitCode}); see the messages above.");
        return output.Trim().Split('\n')[^1];
    }
}
