using System.Reflection;
using System.Runtime.InteropServices;

namespace Uring.Bindings;

/// <summary>
/// Finds and loads <c>liburing-ffi.so.2</c> and resolves its exports for the generated
/// <see cref="Liburing"/> function pointers.
/// Search order: the path in <c>URING_LIBURING_PATH</c>, the application's directory
/// (the build copies the pinned library there), then the system's loader path.
/// </summary>
public static class LiburingLibrary
{
    /// <summary>Environment variable naming an explicit liburing-ffi.so.2 to load.</summary>
    public const string PathVariable = "URING_LIBURING_PATH";

    /// <summary>The file name the loader looks for.</summary>
    public const string FileName = "liburing-ffi.so.2";

    private static readonly Lazy<(IntPtr Handle, string Path)> s_library = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The native handle of the loaded library.</summary>
    public static IntPtr Handle => s_library.Value.Handle;

    /// <summary>Where the loaded library came from (a path, or the bare name when the system loader found it).</summary>
    public static string LoadedFrom => s_library.Value.Path;

    /// <summary>Address of an export, or zero when the loaded library lacks it.</summary>
    public static IntPtr TryResolve(string name) =>
        NativeLibrary.TryGetExport(Handle, name, out var address) ? address : IntPtr.Zero;

    /// <summary>Address of an export; a missing one is an <see cref="EntryPointNotFoundException"/>
    /// naming the function and the library.</summary>
    public static IntPtr Resolve(string name)
    {
        var address = TryResolve(name);
        if (address == IntPtr.Zero)
            throw MissingExport(name);
        return address;
    }

    /// <summary>The error thrown when generated code calls a function the loaded library does not export.</summary>
    public static EntryPointNotFoundException MissingExport(string name) =>
        new($"liburing function '{name}' is not exported by '{LoadedFrom}'. " +
            $"The bindings were generated for a newer liburing; point {PathVariable} at a matching {FileName}.");

    private static (IntPtr, string) Load()
    {
        var tried = new List<string>();
        var explicitPath = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrEmpty(explicitPath))
        {
            if (NativeLibrary.TryLoad(explicitPath, out var handle))
                return (handle, explicitPath);
            throw new DllNotFoundException($"{PathVariable}={explicitPath} could not be loaded (missing file, or not a shared library for this architecture).");
        }

        foreach (var dir in CandidateDirectories())
        {
            var candidate = System.IO.Path.Combine(dir, FileName);
            tried.Add(candidate);
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out var handle))
                return (handle, candidate);
        }

        if (NativeLibrary.TryLoad(FileName, out var systemHandle))
            return (systemHandle, FileName);
        tried.Add($"{FileName} (system loader path)");
        throw new DllNotFoundException(
            $"{FileName} was not found. Tried: {string.Join(", ", tried)}. " +
            $"Build a project that references Uring.Bindings (the build copies the pinned library), " +
            $"install liburing >= 2.4, or set {PathVariable}.");
    }

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("SingleFile", "IL3000", Justification = "An empty Location (NativeAOT, single-file) is skipped.")]
    private static IEnumerable<string> CandidateDirectories()
    {
        yield return AppContext.BaseDirectory;
        var assemblyDir = System.IO.Path.GetDirectoryName(typeof(LiburingLibrary).Assembly.Location);
        if (!string.IsNullOrEmpty(assemblyDir))
            yield return assemblyDir;
        var entry = Assembly.GetEntryAssembly()?.Location;
        if (!string.IsNullOrEmpty(entry))
            yield return System.IO.Path.GetDirectoryName(entry)!;
    }
}
