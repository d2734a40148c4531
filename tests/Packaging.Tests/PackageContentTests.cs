using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Uring.Packaging.Tests.Infrastructure;

namespace Uring.Packaging.Tests;

/// <summary>What `dotnet pack` at the root puts into each package, and the version scheme.</summary>
[Collection(PackagesCollection.Name)]
public sealed class PackageContentTests(PackedFeed packed, ITestOutputHelper output)
{
    [Fact]
    public void The_bindings_carry_the_pinned_liburing_its_copyright_file_and_xml_docs()
    {
        var bindings = packed.Bindings;
        output.WriteLine(string.Join('\n', bindings.Entries));
        AssertEntries(bindings,
            "lib/net10.0/Uring.Bindings.dll", "lib/net10.0/Uring.Bindings.pdb", "lib/net10.0/Uring.Bindings.xml",
            "licenses/liburing/copyright", "runtimes/linux-x64/native/liburing-ffi.so.2", "Uring.Bindings.nuspec");
        var generation = Repo.DefaultGeneration;
        Assert.Equal(Repo.Sha256(Repo.PinnedLibrary(generation)), Repo.Sha256(bindings.Read("runtimes/linux-x64/native/liburing-ffi.so.2")));
        Assert.Equal(Repo.PinnedCopyright(generation), bindings.Read("licenses/liburing/copyright"));
        var docs = Xml(bindings.Read("lib/net10.0/Uring.Bindings.xml"));
        Assert.Contains(docs.Descendants("member"), m => (string?)m.Attribute("name") == "M:Uring.Bindings.Liburing.io_uring_queue_init(System.UInt32,Uring.Bindings.io_uring*,System.UInt32)");
        AssertLicenceAndRepository(bindings);
    }

    [Fact]
    public void The_facade_has_its_assembly_and_docs_and_depends_on_the_bindings_of_one_liburing()
    {
        var core = packed.Core;
        AssertEntries(core, "lib/net10.0/Uring.Core.dll", "lib/net10.0/Uring.Core.pdb", "lib/net10.0/Uring.Core.xml", "Uring.Core.nuspec");
        var docs = Xml(core.Read("lib/net10.0/Uring.Core.xml"));
        Assert.Contains(docs.Descendants("member"), m => ((string?)m.Attribute("name"))?.StartsWith("M:Uring.Ring.Read(", StringComparison.Ordinal) == true);

        // Any revision of the bindings for the same liburing (prereleases included), no other liburing.
        var (major, minor) = MajorMinor(Repo.DefaultGeneration);
        Assert.Equal([("Uring.Bindings", $"[{packed.Bindings.Version}, {major}.{minor + 1}.0-0)")], core.Dependencies);
        AssertLicenceAndRepository(core);
    }

    [Fact]
    public void The_bindings_version_carries_the_liburing_version_and_the_rest_share_one_version()
    {
        var (major, minor) = MajorMinor(Repo.DefaultGeneration);
        Assert.Matches(new Regex($@"^{major}\.{minor}\.[0-9]+(-[0-9A-Za-z.]+)?$"), packed.Bindings.Version);
        var version = packed.Core.Version;
        Assert.Matches(new Regex(@"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$"), version);
        Assert.All(new[] { "Uring.Cli", "Uring.Generator" }, id => Assert.Equal(version, packed.Packages[id].Version));
        // The prerelease label is shared: a preview of the façade goes with a preview of the bindings.
        Assert.Equal(version.Contains('-') ? version[version.IndexOf('-')..] : "",
            packed.Bindings.Version.Contains('-') ? packed.Bindings.Version[packed.Bindings.Version.IndexOf('-')..] : "");
    }

    [Theory]
    [InlineData("Uring.Cli", "uring", "uring.dll")]
    [InlineData("Uring.Generator", "uring-gen", "uring-gen.dll")]
    public void The_tools_are_dotnet_tools(string id, string command, string entryPoint)
    {
        var tool = packed.Packages[id];
        Assert.Equal(["DotnetTool"], tool.PackageTypes);
        var settings = Xml(tool.Read("tools/net10.0/any/DotnetToolSettings.xml"));
        var commandElement = Assert.Single(settings.Descendants("Command"));
        Assert.Equal(command, (string?)commandElement.Attribute("Name"));
        Assert.Equal(entryPoint, (string?)commandElement.Attribute("EntryPoint"));
        Assert.Empty(tool.Dependencies);
        AssertLicenceAndRepository(tool);
    }

    [Fact]
    public void The_tools_carry_what_they_need_without_the_repository()
    {
        var cli = packed.Packages["Uring.Cli"];
        Assert.Equal(Repo.Sha256(Repo.PinnedLibrary(Repo.DefaultGeneration)), Repo.Sha256(cli.Read("tools/net10.0/any/liburing-ffi.so.2")));
        Assert.Equal(Repo.PinnedCopyright(Repo.DefaultGeneration), cli.Read("licenses/liburing/copyright"));
        var generator = packed.Packages["Uring.Generator"];
        Assert.Equal(File.ReadAllBytes(Path.Combine(Repo.Root, "liburing-headers", "pins.txt")), generator.Read("tools/net10.0/any/liburing-headers/pins.txt"));
        Assert.Equal(File.ReadAllBytes(Path.Combine(Repo.Root, "liburing-headers", "fetch.sh")), generator.Read("tools/net10.0/any/liburing-headers/fetch.sh"));
    }

    /// <summary>Deterministic builds: no file of any package names where this checkout lies
    /// (PDB paths are /_/…), so every clone of a commit packs the same assemblies.</summary>
    [Fact]
    public void No_package_names_the_folder_it_was_built_in()
    {
        var root = Encoding.UTF8.GetBytes(Repo.Root + "/");
        foreach (var package in packed.Packages.Values)
            foreach (var entry in package.Entries)
                Assert.True(package.Read(entry).AsSpan().IndexOf(root) < 0, $"{package.Id}: {entry} contains {Repo.Root}");
    }

    [Fact]
    public void Packing_the_same_build_again_gives_the_same_bytes()
    {
        var again = packed.NewFolder("feed-again");
        foreach (var project in new[] { "Bindings/Uring.Bindings.csproj", "Uring/Uring.csproj" })
            Processes.Run("dotnet", ["pack", Path.Combine(Repo.Root, "src", project), "-c", "Release", "--no-build", "-nologo", "-v", "q",
                "-clp:ErrorsOnly", $"-p:PackageOutputPath={again}/"], Repo.Root, TimeSpan.FromMinutes(10), packed.Environment).EnsureSuccess();
        foreach (var package in new[] { packed.Bindings, packed.Core })
        {
            var repacked = Path.Combine(again, Path.GetFileName(package.Path));
            Assert.True(File.ReadAllBytes(package.Path).AsSpan().SequenceEqual(File.ReadAllBytes(repacked)),
                $"{Path.GetFileName(package.Path)} differs when packed twice from one build");
        }
    }

    private static void AssertEntries(NuGetPackage package, params string[] expected) =>
        Assert.Equal(expected.Order(StringComparer.Ordinal), package.Entries);

    private static XDocument Xml(byte[] bytes) => XDocument.Load(new MemoryStream(bytes));

    private static void AssertLicenceAndRepository(NuGetPackage package)
    {
        var license = package.MetadataElement("license");
        Assert.NotNull(license);
        Assert.Equal("expression", (string?)license.Attribute("type"));
        Assert.Equal("MIT", license.Value);
        Assert.False(string.IsNullOrWhiteSpace(package.Metadata("description")));
        var repository = package.MetadataElement("repository");
        Assert.NotNull(repository);
        Assert.Equal("git", (string?)repository.Attribute("type"));
        var head = Processes.Run("git", ["rev-parse", "HEAD"], Repo.Root, TimeSpan.FromMinutes(1));
        if (head.ExitCode == 0)
            Assert.Equal(head.StdOut.Trim(), (string?)repository.Attribute("commit"));
    }

    private static (int Major, int Minor) MajorMinor(string generation)
    {
        var parts = generation.Split('.');
        return (int.Parse(parts[0]), int.Parse(parts[1]));
    }
}
