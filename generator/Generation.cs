using System.Diagnostics;
using Uring.Generator.Model;

namespace Uring.Generator;

/// <summary>One generation taken from headers to model to files.</summary>
internal static class Generation
{
    public sealed record Result(ApiModel Model, TimeSpan ParseTime, TimeSpan ModelTime);

    /// <summary>
    /// A pinned generation. Its errno table comes from the default generation's uapi headers, so
    /// that every pinned generation, and the same liburing with another linux-libc-dev, shares
    /// one table: errno values are kernel ABI, and newer uapi headers only add names (Linux 7.x
    /// adds EFTYPE), so reading them from whichever uapi a pin uses would make the output depend on it.
    /// </summary>
    public static Result Build(Pins pins, string generation)
    {
        var source = HeaderSource.FromSysroot(pins.Fetch(generation));
        var errnoSource = generation == pins.DefaultGeneration ? source : HeaderSource.FromSysroot(pins.Fetch(pins.DefaultGeneration));
        return Build(source, errnoSource, fallbackName: pins.LiburingVersion(generation));
    }

    /// <summary>Headers and library from anywhere (a user's own liburing): errno names from the same headers.</summary>
    public static Result Build(HeaderSource source, HeaderSource? errnoSource = null, string? fallbackName = null)
    {
        var clock = Stopwatch.StartNew();
        var parser = new HeaderParser(source, Exports.Read(source.Library));
        var model = parser.Parse();
        // liburing older than 2.4 has no io_uring_version.h: the pin says which release it is.
        if (model.Generation.Length == 0)
            model = model with { Generation = fallbackName ?? "unknown" };
        // Point each function at its manual page when one is installed beside the headers.
        model = model with
        {
            Functions = model.Functions.Select(f => File.Exists(Path.Combine(source.ManDirectory, f.Name + ".3.gz"))
                ? f with { ManPage = f.Name + "(3)" } : f).ToList(),
            Errnos = ErrnoReader.Read(errnoSource ?? source),
        };
        if (!source.IsFfi)
            model = model with { Notes = [.. model.Notes, $"{source.LibraryName} is not liburing-ffi: only the functions it exports are emitted; inline helpers are listed as not exported"] };
        return new Result(model, parser.ParseTime, clock.Elapsed);
    }

    /// <summary>Writes the files, removes stale generated ones, leaves identical ones untouched.</summary>
    public static (int Added, int Changed, int Removed) WriteTree(string output, SortedDictionary<string, string> files)
    {
        Directory.CreateDirectory(output);
        int added = 0, changed = 0, removed = 0;
        var stale = Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(output, f).Replace('\\', '/'))
            .Where(f => f.EndsWith(".g.cs", StringComparison.Ordinal) || f == "api-model.json")
            .ToHashSet(StringComparer.Ordinal);
        foreach (var (relative, content) in files)
        {
            stale.Remove(relative);
            switch (WriteFile(Path.Combine(output, relative), content))
            {
                case true: added++; break;
                case false: changed++; break;
            }
        }
        foreach (var relative in stale)
        {
            File.Delete(Path.Combine(output, relative));
            removed++;
        }
        return (added, changed, removed);
    }

    /// <summary>Writes one file unless it already has this content: true when new, false when
    /// changed, null when left untouched.</summary>
    public static bool? WriteFile(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var exists = File.Exists(path);
        if (exists && File.ReadAllText(path) == content)
            return null;
        File.WriteAllText(path, content);
        return !exists;
    }
}
