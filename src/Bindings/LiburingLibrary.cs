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

    private sealed record Loaded(IntPtr Handle, string Path);

    private static readonly object s_gate = new();
    private static volatile Loaded? s_loaded;

    /// <summary>The native handle of the loaded library (loaded on first use).</summary>
    public static IntPtr Handle => (s_loaded ?? LoadOnce()).Handle;

    /// <summary>Where the loaded library came from (a path, or the bare name when the system loader found it).</summary>
    public static string LoadedFrom => (s_loaded ?? LoadOnce()).Path;

    /// <summary>
    /// Loads the library now unless it is loaded. A failure is not remembered: the next call tries
    /// again, so a load that failed for a passing reason (the process was out of file descriptors)
    /// succeeds once the reason is gone. Call it before the first use of <see cref="Liburing"/>: a
    /// failure inside the generated function-pointer table's static initialiser would be final.
    /// </summary>
    /// <exception cref="DllNotFoundException">The library could not be loaded; the message lists
    /// every place tried and the loader's reason for each.</exception>
    public static void EnsureLoaded() => _ = s_loaded ?? LoadOnce();

    private static Loaded LoadOnce()
    {
        lock (s_gate)
            return s_loaded ??= Load();
    }

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

    private static Loaded Load()
    {
        var explicitPath = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrEmpty(explicitPath))
        {
            if (TryLoad(explicitPath, out var handle, out var reason))
                return new(handle, explicitPath);
            throw new DllNotFoundException($"{PathVariable}={explicitPath} could not be loaded: {reason}.");
        }

        var tried = new List<string>();
        var anyFound = false;
        foreach (var dir in CandidateDirectories().Select(System.IO.Path.TrimEndingDirectorySeparator).Distinct())
        {
            var candidate = System.IO.Path.Combine(dir, FileName);
            if (!File.Exists(candidate))
            {
                tried.Add(candidate);
                continue;
            }
            anyFound = true;
            if (TryLoad(candidate, out var handle, out var reason))
                return new(handle, candidate);
            tried.Add($"{candidate} ({reason})");
        }

        if (TryLoad(FileName, out var systemHandle, out var systemReason))
            return new(systemHandle, FileName);
        tried.Add($"{FileName} (system loader path: {systemReason})");
        throw new DllNotFoundException(
            $"{FileName} {(anyFound ? "could not be loaded" : "was not found")}. Tried: {string.Join(", ", tried)}. " +
            $"Reference the Uring.Bindings package (it brings the library for linux-x64), " +
            $"install liburing >= 2.4, or set {PathVariable}.");
    }

    /// <summary>Loads one library; on failure, the loader's own reason (dlerror's text, e.g.
    /// "cannot open shared object file: Too many open files").</summary>
    private static bool TryLoad(string path, out IntPtr handle, out string reason)
    {
        try
        {
            handle = NativeLibrary.Load(path);
            reason = "";
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            handle = IntPtr.Zero;
            // .NET's message is advice followed by dlerror's text on the last line.
            var last = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? e.Message;
            var colon = last.IndexOf(": ", StringComparison.Ordinal);
            reason = colon >= 0 && last.StartsWith(path, StringComparison.Ordinal) ? last[(colon + 2)..] : last;
            return false;
        }
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
