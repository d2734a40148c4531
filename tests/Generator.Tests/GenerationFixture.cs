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

    internal string CheckedInDirectory => Path.Combine(Pins.RepoRoot, "src/Bindings/Generated");
}

[CollectionDefinition(Name)]
public sealed class GenerationCollection : ICollectionFixture<GenerationFixture>
{
    public const string Name = "generations";
}
