namespace Uring.Generator;

/// <summary>
/// Where one generation's input comes from: the include root that holds <c>liburing.h</c> (and,
/// unless told otherwise, the uapi errno headers), and the library whose exports decide which
/// functions are bound. A pinned generation is a fetched sysroot; a user's own liburing is
/// <c>--sysroot DIR</c> or <c>--include DIR --library FILE</c>.
/// </summary>
internal sealed record HeaderSource(string IncludeRoot, string Library)
{
    private static readonly string[] s_libraryDirectories = ["usr/lib/x86_64-linux-gnu", "usr/lib64", "usr/lib"];

    // The compiler searches these anyway, after its own builtin headers; naming them with
    // -isystem would put them in front of the builtin headers.
    private static readonly string[] s_systemIncludeDirectories = ["/usr/include", "/usr/include/x86_64-linux-gnu"];

    /// <summary>A root file system layout: DIR/usr/include and the library under DIR/usr/lib….</summary>
    public static HeaderSource FromSysroot(string sysroot, string? library = null)
    {
        var root = Path.GetFullPath(sysroot);
        if (!Directory.Exists(root))
            throw new ArgumentException($"--sysroot {sysroot}: no such directory");
        var include = Path.Combine(root, "usr/include");
        var origin = "--sysroot " + sysroot;
        if (!File.Exists(Path.Combine(include, "liburing.h")))
            throw new ArgumentException($"{origin}: no liburing.h in {include}");
        return FromInclude(include, library ?? FindLibrary(root), origin);
    }

    /// <summary>An include directory holding liburing.h, and the library file to bind.</summary>
    public static HeaderSource FromInclude(string include, string library, string? origin = null)
    {
        origin ??= "--include " + include;
        var root = Path.GetFullPath(include);
        if (!File.Exists(Path.Combine(root, "liburing.h")))
            throw new ArgumentException($"{origin}: no liburing.h in {root}");
        if (!File.Exists(library))
            throw new ArgumentException($"--library {library}: no such file");
        return new HeaderSource(root, Path.GetFullPath(library));
    }

    /// <summary>
    /// The library a sysroot provides: liburing-ffi.so.2 (liburing ≥ 2.4, every inline helper
    /// exported), else the plain liburing.so.2, which exports only the non-inline functions.
    /// </summary>
    private static string FindLibrary(string sysroot)
    {
        foreach (var name in new[] { "liburing-ffi.so.2", "liburing.so.2" })
            foreach (var directory in s_libraryDirectories)
            {
                var candidate = Path.Combine(sysroot, directory, name);
                if (File.Exists(candidate))
                    return candidate;
            }
        throw new ArgumentException($"--sysroot {sysroot}: neither liburing-ffi.so.2 nor liburing.so.2 under " +
            string.Join(", ", s_libraryDirectories.Select(d => Path.Combine(sysroot, d))) + " (name the library with --library)");
    }

    /// <summary>The library's file name as it was given (liburing-ffi.so.2 for the pins): it
    /// goes into the output, the directory does not.</summary>
    public string LibraryName => Path.GetFileName(Library);

    public bool IsFfi => LibraryName.StartsWith("liburing-ffi", StringComparison.Ordinal);

    /// <summary>Directories passed to libclang with -isystem, ahead of the system's own: the
    /// include root and its multiarch directory (so asm/ comes from the same place).</summary>
    public IReadOnlyList<string> IncludeDirectories =>
        new[] { IncludeRoot, Path.Combine(IncludeRoot, "x86_64-linux-gnu") }
            .Where(Directory.Exists)
            .Where(d => !s_systemIncludeDirectories.Contains(d.TrimEnd('/'), StringComparer.Ordinal))
            .ToList();

    /// <summary>Manual pages installed beside the headers (DIR/../share/man/man3).</summary>
    public string ManDirectory => Path.GetFullPath(Path.Combine(IncludeRoot, "../share/man/man3"));
}
