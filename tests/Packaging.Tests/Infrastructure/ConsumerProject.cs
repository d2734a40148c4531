using System.Text.RegularExpressions;

namespace Uring.Packaging.Tests.Infrastructure;

/// <summary>
/// A copy of packaging/consumer (ReadFile: reads a file with Ring.Read) in a temporary folder
/// outside the repository, whose nuget.config names a local folder feed for Uring.* and nuget.org
/// for anything else, as a user's would.
/// </summary>
public sealed partial class ConsumerProject
{
    private const string TemplateFeed = "../../artifacts/packages";
    private readonly PackedFeed _packed;

    public ConsumerProject(PackedFeed packed, string feed, string name)
    {
        _packed = packed;
        Directory = CopyTemplate(packed, Repo.ConsumerTemplate, ["ReadFile.csproj", "Program.cs"], feed, name);
    }

    /// <summary>Copies a consumer template (its <paramref name="files"/>, Directory.Build.props and
    /// nuget.config) from the repository into a new folder under the work root, its nuget.config
    /// pointed at <paramref name="feed"/>; returns the folder.</summary>
    public static string CopyTemplate(PackedFeed packed, string template, string[] files, string feed, string name)
    {
        var directory = packed.NewFolder(name);
        foreach (var file in files.Concat(["Directory.Build.props", "nuget.config"]))
            File.Copy(Path.Combine(template, file), Path.Combine(directory, file));
        var config = Path.Combine(directory, "nuget.config");
        var text = File.ReadAllText(config);
        if (text.Split($"value=\"{TemplateFeed}\"").Length != 2)
            throw new InvalidOperationException($"{config} no longer names the feed as value=\"{TemplateFeed}\"");
        File.WriteAllText(config, text.Replace($"value=\"{TemplateFeed}\"", $"value=\"{feed}\""));
        return directory;
    }

    public string Directory { get; }

    public string Output(string? runtimeIdentifier) =>
        Path.Combine(Directory, "bin", "Release", "net10.0", runtimeIdentifier ?? "");

    /// <summary>Restores only (fills the package folder from the feed).</summary>
    public ProcessResult Restore() =>
        Dotnet(["restore", "-p:UringVersion=" + _packed.Core.Version, "-p:NuGetAudit=false"]);

    /// <summary>Restores (our packages extracted anew from the feed) and builds, portable or for a RID.</summary>
    public ProcessResult Build(string? runtimeIdentifier = null)
    {
        _packed.ForgetCachedUringPackages();
        // NuGetAudit would fetch vulnerability data from nuget.org: the check must not need the network.
        string[] args = ["build", "-c", "Release", "-nologo", "-v", "q", "-clp:ErrorsOnly",
            "-p:UringVersion=" + _packed.Core.Version, "-p:NuGetAudit=false"];
        return Dotnet(runtimeIdentifier is null ? args : [.. args, "-r", runtimeIdentifier]);
    }

    /// <summary>Runs the built program on a file: through `dotnet app.dll`, or the apphost of a RID build.</summary>
    public ReadFileOutput Run(string file, string? runtimeIdentifier = null)
    {
        var output = Output(runtimeIdentifier);
        var run = runtimeIdentifier is null
            ? Processes.Run("dotnet", [Path.Combine(output, "ReadFile.dll"), file], Directory, TimeSpan.FromMinutes(2), _packed.Environment)
            : Processes.Run(Path.Combine(output, "ReadFile"), [file], Directory, TimeSpan.FromMinutes(2), _packed.Environment);
        run.EnsureSuccess();
        var library = LibraryLine().Match(run.StdOut);
        var read = ReadLine().Match(run.StdOut);
        if (!library.Success || !read.Success)
            throw new InvalidOperationException("unexpected output: " + run.Describe());
        return new ReadFileOutput(library.Groups["version"].Value, library.Groups["path"].Value,
            long.Parse(read.Groups["bytes"].Value), read.Groups["sha"].Value, run);
    }

    private ProcessResult Dotnet(string[] args) =>
        Processes.Run("dotnet", args, Directory, TimeSpan.FromMinutes(10), _packed.Environment).EnsureSuccess();

    [GeneratedRegex(@"^liburing (?<version>\d+\.\d+) from (?<path>.+)$", RegexOptions.Multiline)]
    private static partial Regex LibraryLine();

    [GeneratedRegex(@"^read (?<bytes>\d+) bytes, sha256 (?<sha>[0-9a-f]{64})$", RegexOptions.Multiline)]
    private static partial Regex ReadLine();
}

/// <summary>What ReadFile printed: the liburing that served it (version, file) and what it read.</summary>
public sealed record ReadFileOutput(string LiburingVersion, string LibraryPath, long Bytes, string Sha256, ProcessResult Process);
