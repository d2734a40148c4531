using Uring.Generator.Model;

namespace Uring.Generator.Tests;

/// <summary>Builds each pinned generation once per test run (the fetch is cached on disk).</summary>
public sealed class GenerationFixture
{
    private readonly Dictionary<string, Generation.Result> _results = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    internal Pins Pins { get; } = Pins.Load();

    internal Generation.Result Get(string generation)
    {
        lock (_gate)
        {
            if (!_results.TryGetValue(generation, out var result))
                _results[generation] = result = Generation.Build(Pins, generation);
            return result;
        }
    }

    internal ApiModel Model(string generation) => Get(generation).Model;

    internal ApiModel DefaultModel => Model(Pins.DefaultGeneration);

    internal string CheckedInDirectory => Path.Combine(Pins.RepoRoot, "src/Bindings/Generated");

    internal string CheckedInPythonErrno => Path.Combine(Pins.RepoRoot, "python/uring/_errno.py");

    /// <summary>Every pinned generation, for theories (read from pins.txt at discovery).</summary>
    public static TheoryData<string> PinnedGenerations()
    {
        var data = new TheoryData<string>();
        foreach (var generation in Pins.Load().Generations)
            data.Add(generation);
        return data;
    }

    /// <summary>Whether a pin's liburing is older than 2.4, which added liburing-ffi.so.2.</summary>
    internal bool LacksFfi(string generation)
    {
        var version = Pins.LiburingVersion(generation) ?? throw new InvalidOperationException($"{generation} pins no liburing-dev");
        return Version.Parse(version) < new Version(2, 4);
    }
}

[CollectionDefinition(Name)]
public sealed class GenerationCollection : ICollectionFixture<GenerationFixture>
{
    public const string Name = "generations";
}
