using System.Diagnostics;

namespace Uring.Generator;

/// <summary>The functions a shared library exports, read with binutils' nm.</summary>
internal static class Exports
{
    /// <summary>The library bindings resolve against: liburing-ffi.so.2 (liburing ≥ 2.4), else
    /// the plain liburing.so.2, which exports only the non-inline functions.</summary>
    public static (string Path, bool IsFfi) FindLibrary(string sysroot)
    {
        var dir = Path.Combine(sysroot, "usr/lib/x86_64-linux-gnu");
        var ffi = Path.Combine(dir, "liburing-ffi.so.2");
        if (File.Exists(ffi))
            return (ffi, true);
        var plain = Path.Combine(dir, "liburing.so.2");
        if (File.Exists(plain))
            return (plain, false);
        throw new FileNotFoundException($"neither liburing-ffi.so.2 nor liburing.so.2 under {dir}");
    }

    public static HashSet<string> Read(string library)
    {
        var start = new ProcessStartInfo("nm", ["-D", "--defined-only", library]) { RedirectStandardOutput = true };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("nm (binutils) is required");
        var names = new HashSet<string>(StringComparer.Ordinal);
        string? line;
        while ((line = process.StandardOutput.ReadLine()) is not null)
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 3 && parts[1] is "T" or "W" or "i")
                names.Add(parts[2].Split('@')[0]);
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"nm failed on {library}");
        return names;
    }
}
