using System.Text.RegularExpressions;

namespace Uring.Packaging.Tests.Infrastructure;

[CollectionDefinition(Name)]
public sealed class PackagesCollection : ICollectionFixture<PackedFeed>
{
    // One collection: the tests share the feed and the package folder, and run one after another
    // (each runs dotnet builds; the machine has two cores).
    public const string Name = "packages";
}

/// <summary>
/// The solution's Release build packed (<c>dotnet pack Uring.sln --no-build</c>) into a local folder
/// feed in a temporary directory outside the repository, with a private NuGet package folder
/// (NUGET_PACKAGES) for everything restored from it: the machine's own cache is never read, so a
/// package of the same version restored earlier cannot stand in for the one just packed.
/// </summary>
public sealed class PackedFeed : IDisposable
{
    public static readonly string[] PackageIds = ["Uring.Bindings", "Uring.Core", "Uring.AspNetCore", "Uring.Cli", "Uring.Generator"];

    public PackedFeed()
    {
        WorkRoot = Directory.CreateTempSubdirectory("uring-packaging-").FullName;
        if (WorkRoot.StartsWith(Repo.Root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new InvalidOperationException($"the work folder {WorkRoot} must lie outside the repository {Repo.Root}");
        Feed = Directory.CreateDirectory(Path.Combine(WorkRoot, "feed")).FullName;
        PackagesFolder = Path.Combine(WorkRoot, "nuget-packages");

        Pack = Processes.Run("dotnet", ["pack", Repo.Solution, "-c", "Release", "--no-build", "-nologo", "-v", "q", "-clp:ErrorsOnly",
            $"-p:PackageOutputPath={Feed}/"], Repo.Root, TimeSpan.FromMinutes(10), Environment).EnsureSuccess();
        Packages = PackageIds.ToDictionary(id => id, id => NuGetPackage.Open(Single(Feed, id)));
    }

    /// <summary>The temporary folder that holds the feed, the package folder, consumers and tools.</summary>
    public string WorkRoot { get; }

    public string Feed { get; }

    /// <summary>NUGET_PACKAGES of every restore and tool install here.</summary>
    public string PackagesFolder { get; }

    public ProcessResult Pack { get; }

    public IReadOnlyDictionary<string, NuGetPackage> Packages { get; }

    public NuGetPackage Bindings => Packages["Uring.Bindings"];

    public NuGetPackage Core => Packages["Uring.Core"];

    /// <summary>The variables of every dotnet and consumer process: the private package folder, and
    /// no URING_LIBURING_PATH (the library must come from the package).</summary>
    public IReadOnlyDictionary<string, string?> Environment => new Dictionary<string, string?>
    {
        ["NUGET_PACKAGES"] = PackagesFolder,
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
        ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
        ["URING_LIBURING_PATH"] = null,
    };

    /// <summary>Removes this repository's packages from the private package folder, so the next
    /// restore extracts them again from its feed: a package repacked under the same version is
    /// seen, never the copy extracted before.</summary>
    public void ForgetCachedUringPackages()
    {
        foreach (var id in PackageIds)
        {
            var cached = Path.Combine(PackagesFolder, id.ToLowerInvariant());
            if (Directory.Exists(cached))
                Directory.Delete(cached, recursive: true);
        }
    }

    /// <summary>A new folder under the work root.</summary>
    public string NewFolder(string name) =>
        Directory.CreateDirectory(Path.Combine(WorkRoot, $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)])).FullName;

    public void Dispose()
    {
        try { Directory.Delete(WorkRoot, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>The one ID.VERSION.nupkg of a package id in a folder (the version starts with a digit,
    /// which tells Uring.Core.0.1.0 from a longer id such as Uring.Core.Extras.1.0.0).</summary>
    public static string Single(string folder, string id)
    {
        var pattern = new Regex("^" + Regex.Escape(id) + @"\.[0-9][^/]*\.nupkg$");
        var found = Directory.GetFiles(folder, "*.nupkg").Where(f => pattern.IsMatch(Path.GetFileName(f))).ToList();
        return found.Count == 1
            ? found[0]
            : throw new InvalidOperationException($"expected one {id} package in {folder}, found: {string.Join(", ", Directory.GetFiles(folder).Select(Path.GetFileName))}");
    }
}
