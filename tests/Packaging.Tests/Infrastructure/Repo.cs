using System.Security.Cryptography;

namespace Uring.Packaging.Tests.Infrastructure;

/// <summary>The checkout the tests were built from: only the packer and the expectations look here,
/// never a consumer.</summary>
public static class Repo
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    public static string Root => s_root.Value;

    public static string Solution => Path.Combine(Root, "Uring.sln");

    /// <summary>The consumer program that stands for a user's project (copied out of the repository).</summary>
    public static string ConsumerTemplate => Path.Combine(Root, "packaging", "consumer");

    public static string WebConsumerTemplate => Path.Combine(Root, "packaging", "web-consumer");

    public static string GeneratedBindings => Path.Combine(Root, "src", "Bindings", "Generated");

    public static string PythonErrnoModule => Path.Combine(Root, "python", "uring", "_errno.py");

    public static string DefaultGeneration =>
        File.ReadAllLines(Path.Combine(Root, "liburing-headers", "pins.txt"))
            .Select(l => l.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .First(f => f.Length >= 2 && f[0] == "default")[1];

    /// <summary>A pinned generation other than the default that has liburing-ffi.so.2 (liburing 2.4 or newer).</summary>
    public static string OtherGenerationWithFfiLibrary() =>
        File.ReadAllLines(Path.Combine(Root, "liburing-headers", "pins.txt"))
            .Select(l => l.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 5 && !f[0].StartsWith('#') && f[0] != "default" && f[0] != DefaultGeneration)
            .Select(f => f[0]).Distinct()
            .FirstOrDefault(g => File.Exists(Path.Combine(Sysroot(g), "usr", "lib", "x86_64-linux-gnu", "liburing-ffi.so.2")))
            ?? throw new InvalidOperationException("this check needs a second pinned generation with liburing-ffi.so.2");

    /// <summary>A pinned generation's extracted sysroot (fetch.sh: idempotent, offline once cached).</summary>
    public static string Sysroot(string generation)
    {
        var run = Processes.Run("bash", [Path.Combine(Root, "liburing-headers", "fetch.sh"), generation], Root, TimeSpan.FromMinutes(5));
        if (run.ExitCode != 0)
            throw new InvalidOperationException($"fetch.sh {generation} failed:\n{run.StdErr}");
        return run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();
    }

    /// <summary>The bytes of a generation's pinned liburing-ffi.so.2 (symlinks followed).</summary>
    public static byte[] PinnedLibrary(string generation) =>
        File.ReadAllBytes(Path.Combine(Sysroot(generation), "usr", "lib", "x86_64-linux-gnu", "liburing-ffi.so.2"));

    /// <summary>liburing's copyright file from a generation's pinned liburing2 .deb.</summary>
    public static byte[] PinnedCopyright(string generation) =>
        File.ReadAllBytes(Path.Combine(Sysroot(generation), "usr", "share", "doc", "liburing2", "copyright"));

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Uring.sln")) && File.Exists(Path.Combine(dir.FullName, "liburing-headers", "pins.txt")))
                return dir.FullName;
        throw new DirectoryNotFoundException($"No ancestor of {AppContext.BaseDirectory} holds Uring.sln: run the tests from a checkout.");
    }
}
