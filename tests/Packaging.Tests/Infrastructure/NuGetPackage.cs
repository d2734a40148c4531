using System.IO.Compression;
using System.Xml.Linq;

namespace Uring.Packaging.Tests.Infrastructure;

/// <summary>A .nupkg read as what it is, a zip with a .nuspec.</summary>
public sealed class NuGetPackage
{
    private NuGetPackage(string path, XDocument nuspec, IReadOnlyList<string> entries)
    {
        Path = path;
        Nuspec = nuspec;
        Entries = entries;
    }

    public string Path { get; }

    public XDocument Nuspec { get; }

    /// <summary>Entry names, without NuGet's own bookkeeping (_rels/, package/, [Content_Types].xml).</summary>
    public IReadOnlyList<string> Entries { get; }

    public string Id => Metadata("id");

    public string Version => Metadata("version");

    public static NuGetPackage Open(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        var nuspecEntry = zip.Entries.Single(e => !e.FullName.Contains('/') && e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = nuspecEntry.Open();
        var nuspec = XDocument.Load(stream);
        var entries = zip.Entries.Select(e => e.FullName)
            .Where(n => !n.StartsWith("_rels/", StringComparison.Ordinal) && !n.StartsWith("package/", StringComparison.Ordinal) && n != "[Content_Types].xml")
            .Order(StringComparer.Ordinal).ToList();
        return new NuGetPackage(path, nuspec, entries);
    }

    public byte[] Read(string entry)
    {
        using var zip = ZipFile.OpenRead(Path);
        var found = zip.GetEntry(entry) ?? throw new KeyNotFoundException($"{System.IO.Path.GetFileName(Path)} has no {entry}; it has: {string.Join(", ", Entries)}");
        using var stream = found.Open();
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    }

    /// <summary>A metadata element's value ("" when absent).</summary>
    public string Metadata(string name) => MetadataElement(name)?.Value ?? "";

    public XElement? MetadataElement(string name) =>
        Nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata").Elements().SingleOrDefault(e => e.Name.LocalName == name);

    /// <summary>The dependencies as (id, version range) of every group.</summary>
    public IReadOnlyList<(string Id, string Version)> Dependencies =>
        Nuspec.Descendants().Where(e => e.Name.LocalName == "dependency")
            .Select(e => ((string)e.Attribute("id")!, (string)e.Attribute("version")!)).ToList();

    /// <summary>The package types (DotnetTool for a tool).</summary>
    public IReadOnlyList<string> PackageTypes =>
        Nuspec.Descendants().Where(e => e.Name.LocalName == "packageType").Select(e => (string)e.Attribute("name")!).ToList();
}
