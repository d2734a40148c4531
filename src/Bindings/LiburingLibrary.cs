using System.Reflection;
using System.Runtime.InteropServices;

namespace Uring.Bindings;

/// <summary>
/// Finds and loads <c>liburing-ffi.so.2</c> and resolves its exports for the generated
/// <see cref="Liburing"/> function pointers.
/// Search order: the path in <c>URING_LIBURING_PATH</c>, the application's directory (the
/// repository's build copies the pinned library there, and so does NuGet for an app restored for
/// <c>linux-x64</c>), the native asset folders the host lists for the app (a portable app that
/// uses the Uring.Bindings package has it in <c>runtimes/linux-x64/native/</c>), then the
/// system's loader path.
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

        foreach (var dir in CandidateDirectories().Select(System.IO.Path.TrimEndingDirectorySeparator).Distinct())
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
            $"Reference the Uring.Bindings package (it brings the library for linux-x64), " +
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
        // NuGet's RID-specific native assets stay in runtimes/RID/native/ of a portable app; the host
        // passes their folders (read from the app's deps.json) to the runtime under this name.
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string nativeDirectories)
            foreach (var dir in nativeDirectories.Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
                yield return dir;
    }
}
