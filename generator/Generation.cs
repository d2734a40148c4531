using System.Diagnostics;
using Uring.Generator.Model;

namespace Uring.Generator;

/// <summary>One pinned generation taken from headers to model to files.</summary>
internal static class Generation
{
    public sealed record Result(ApiModel Model, TimeSpan ParseTime, TimeSpan ModelTime);

    public static Result Build(Pins pins, string generation)
    {
        var sysroot = pins.Fetch(generation);
        var clock = Stopwatch.StartNew();
        var (library, isFfi) = Exports.FindLibrary(sysroot);
        var parser = new HeaderParser(sysroot, generation, Pins.Packages(sysroot), Exports.Read(library));
        var model = parser.Parse();
        // Name the model after the liburing release, not the pin: two pins that differ only in
        // their uapi headers must give identical output.
        var liburingDev = model.Packages.FirstOrDefault(p => p.StartsWith("liburing-dev=", StringComparison.Ordinal));
        if (liburingDev is not null)
            model = model with { Generation = liburingDev["liburing-dev=".Length..].Split('-')[0] };
        // Point each function at its manual page when the pinned liburing-dev ships one.
        var manDirectory = Path.Combine(sysroot, "usr/share/man/man3");
        model = model with
        {
            Functions = model.Functions.Select(f => File.Exists(Path.Combine(manDirectory, f.Name + ".3.gz"))
                ? f with { ManPage = f.Name + "(3)" } : f).ToList(),
        };
        if (!isFfi)
            model = model with { Notes = [.. model.Notes, $"{generation} has no liburing-ffi.so.2: only functions exported by liburing.so.2 are emitted; inline helpers are listed as not exported"] };
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
            var path = Path.Combine(output, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var exists = File.Exists(path);
            if (exists && File.ReadAllText(path) == content)
                continue;
            File.WriteAllText(path, content);
            if (exists) changed++; else added++;
        }
        foreach (var relative in stale)
        {
            File.Delete(Path.Combine(output, relative));
            removed++;
        }
        return (added, changed, removed);
    }
}
