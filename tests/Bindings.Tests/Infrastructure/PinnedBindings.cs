using System.Reflection;
using System.Runtime.Loader;

namespace Uring.Bindings.Tests.Infrastructure;

/// <summary>
/// One pinned generation's bindings as the tests check them: its API model, the compiled C#
/// assembly, the sysroot gcc compiles against, and gcc's facts about the model.
/// </summary>
public sealed class GenerationBindings
{
    private readonly Lazy<GccFacts> _gcc;

    public GenerationBindings(string generation, ApiModel model, Assembly assembly, string sysroot)
    {
        Generation = generation;
        Model = model;
        Assembly = assembly;
        Sysroot = sysroot;
        _gcc = new Lazy<GccFacts>(() => GccProbe.Run(model, sysroot));
    }

    /// <summary>The pin's name in liburing-headers/pins.txt.</summary>
    public string Generation { get; }

    public ApiModel Model { get; }

    /// <summary>The compiled Uring.Bindings of this generation.</summary>
    public Assembly Assembly { get; }

    public string Sysroot { get; }

    /// <summary>gcc's numbers for every record, constant and enum of the model (computed once).</summary>
    public GccFacts Gcc => _gcc.Value;

    public Type? FindType(string csName) => ClrLayout.FindType(Assembly, csName);

    public Type? Resolve(string csType) => CsTypes.Resolve(csType, Assembly);

    public override string ToString() => Generation;
}

/// <summary>
/// Every pinned generation that has liburing-ffi.so.2 (liburing ≥ 2.4): the default one is the
/// checked-in bindings this project references; any other is generated with uring-gen, compiled
/// with the hand-written Bindings sources into artifacts/bindings-check/GEN, and loaded into an
/// assembly load context of its own. A newly pinned generation is picked up from pins.txt.
/// </summary>
public static class PinnedBindings
{
    private static readonly Dictionary<string, Lazy<GenerationBindings>> s_generations = [];

    /// <summary>Pinned generations whose liburing2 is 2.4 or newer, read from pins.txt.</summary>
    public static IReadOnlyList<string> FfiGenerations() =>
        File.ReadAllLines(RepoLayout.PinsPath)
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 4 && f[2] == "liburing2" && UpstreamVersion(f[3]) >= new Version(2, 4))
            .Select(f => f[0])
            .Distinct()
            .ToList();

    public static TheoryData<string> FfiGenerationData()
    {
        var data = new TheoryData<string>();
        foreach (var generation in FfiGenerations())
            data.Add(generation);
        return data;
    }

    private static Version UpstreamVersion(string debianVersion)
    {
        var upstream = debianVersion[(debianVersion.IndexOf(':') + 1)..].Split('-')[0];
        return Version.Parse(upstream);
    }

    public static GenerationBindings Default => For(RepoLayout.DefaultGeneration());

    public static GenerationBindings For(string generation)
    {
        Lazy<GenerationBindings>? bindings;
        lock (s_generations)
        {
            if (!s_generations.TryGetValue(generation, out bindings))
                s_generations[generation] = bindings = new Lazy<GenerationBindings>(() => Build(generation));
        }
        return bindings.Value;
    }

    private static GenerationBindings Build(string generation)
    {
        var sysroot = RepoLayout.Sysroot(generation);
        if (generation == RepoLayout.DefaultGeneration())
            return new GenerationBindings(generation, TestModel.Current, ClrLayout.Bindings, sysroot);

        var work = Path.Combine(RepoLayout.Root, "artifacts", "bindings-check", generation);
        var generated = Path.Combine(work, "Generated");
        var run = Processes.Run("dotnet", [RepoLayout.UringGen, "generate", "-g", generation, "-o", generated], RepoLayout.Root, TimeSpan.FromMinutes(5));
        if (run.ExitCode != 0)
            throw new InvalidOperationException($"uring-gen generate -g {generation} failed ({run.ExitCode}):\n{run.StdErr}{run.StdOut}");

        // The hand-written Bindings sources with this generation's output, under the settings of src/.
        File.WriteAllText(Path.Combine(work, "Check.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <AssemblyName>Uring.Bindings</AssemblyName>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <AllowUnsafeBlocks>true</AllowUnsafeBlocks>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <NoWarn>$(NoWarn);CS1591;CS8981</NoWarn>
                <EnableDefaultCompileItems>false</EnableDefaultCompileItems>
              </PropertyGroup>
              <ItemGroup>
                <Compile Include="{Path.Combine(RepoLayout.Root, "src", "Bindings")}/*.cs" />
                <Compile Include="Generated/**/*.g.cs" />
              </ItemGroup>
            </Project>
            """);
        var output = Path.Combine(work, "bin");
        var build = Processes.Run("dotnet", ["build", Path.Combine(work, "Check.csproj"), "-nologo", "-v", "q", "-clp:ErrorsOnly", "-o", output],
            work, TimeSpan.FromMinutes(10));
        if (build.ExitCode != 0)
            throw new InvalidOperationException($"liburing {generation}'s generated bindings do not compile:\n{build.StdOut}{build.StdErr}");

        var context = new AssemblyLoadContext($"Uring.Bindings {generation}");
        var assembly = context.LoadFromAssemblyPath(Path.Combine(output, "Uring.Bindings.dll"));
        return new GenerationBindings(generation, ApiModel.Load(Path.Combine(generated, "api-model.json")), assembly, sysroot);
    }
}
