using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Uring.Scripting.Tests;

/// <summary>
/// The C ABI and the Python package's ctypes table describe the same functions: every
/// <c>[UnmanagedCallersOnly]</c> export of <see cref="Exports"/> has a Python signature with the
/// same name, arity and argument types, and every Python signature has its export. A wrong
/// ctypes type would otherwise corrupt memory silently instead of failing here.
/// </summary>
public sealed class AbiParityTests
{
    private static readonly string RepoRoot = FindRepoRoot();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Uring.sln")))
                return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    private sealed record PythonTable(Dictionary<string, string[]> Typed, Dictionary<string, int> Fast, Dictionary<string, string> EntryPoints);

    /// <summary>The Python package's table, as python3 sees it (no .NET is loaded to read it).</summary>
    private static PythonTable LoadPythonTable()
    {
        const string script = """
            import json, sys
            sys.path.insert(0, sys.argv[1])
            from uring import _native
            typed = {name: [t.__name__ for t in argtypes] for name, (restype, argtypes) in _native.signatures().items()}
            print(json.dumps({"Typed": typed, "Fast": _native.fast_entry_points(), "EntryPoints": _native.entry_points()}))
            """;
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(Path.Combine(RepoRoot, "python"));
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"python3 could not read the table: {error}");
        return JsonSerializer.Deserialize<PythonTable>(output)!;
    }

    private static List<MethodInfo> Exported() =>
        typeof(Exports).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.GetCustomAttribute<UnmanagedCallersOnlyAttribute>() is not null)
            .ToList();

    /// <summary>The ctypes types a C# parameter type may be declared as.</summary>
    private static string[] CtypesFor(Type type) => type switch
    {
        _ when type == typeof(int) => ["c_int"],
        _ when type == typeof(uint) => ["c_uint"],
        _ when type == typeof(long) => ["c_long"],
        _ when type == typeof(ulong) => ["c_ulong"],
        _ when type == typeof(nint) => ["c_void_p"],
        _ when type == typeof(byte*) => ["c_char_p", "c_void_p"],
        _ when type == typeof(int*) => ["LP_c_int"],
        _ when type == typeof(uint*) => ["LP_c_uint"],
        _ when type == typeof(long*) => ["LP_c_long"],
        _ when type == typeof(nint*) => ["LP_c_void_p", "c_void_p"],
        _ when type == typeof(byte**) || type == typeof(void**) => ["LP_c_void_p"],
        _ when type.IsPointer => ["c_void_p"], // structs and arrays the caller allocates
        _ => throw new InvalidOperationException($"no ctypes form for {type}"),
    };

    [Fact]
    public void Every_export_has_a_python_signature_with_the_same_arity_and_types()
    {
        var python = LoadPythonTable();
        var problems = new List<string>();
        foreach (var method in Exported())
        {
            var parameters = method.GetParameters();
            if (method.Name == "Export")
                continue; // resolved through hostfxr, not through the table
            if (python.Fast.TryGetValue(method.Name, out var arity))
            {
                if (arity != parameters.Length)
                    problems.Add($"{method.Name}: C# takes {parameters.Length} arguments, the Python table says {arity}");
                foreach (var p in parameters.Where(p => p.ParameterType != typeof(int)))
                    problems.Add($"{method.Name}: {p.Name} is {p.ParameterType}, but the 32-bit entry points take ints only");
                continue;
            }
            if (!python.Typed.TryGetValue(method.Name, out var types))
            {
                problems.Add($"{method.Name}: exported, but the Python package has no signature for it");
                continue;
            }
            if (types.Length != parameters.Length)
            {
                problems.Add($"{method.Name}: C# takes {parameters.Length} arguments, Python declares {types.Length}");
                continue;
            }
            for (var i = 0; i < parameters.Length; i++)
            {
                var allowed = CtypesFor(parameters[i].ParameterType);
                if (!allowed.Contains(types[i]))
                    problems.Add($"{method.Name}: argument {i} ({parameters[i].Name}) is {parameters[i].ParameterType} in C#, {types[i]} in Python (expected {string.Join(" or ", allowed)})");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Every_python_signature_names_an_export()
    {
        var python = LoadPythonTable();
        var exported = Exported().Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var orphans = python.Typed.Keys.Concat(python.Fast.Keys).Where(n => !exported.Contains(n)).ToList();
        Assert.True(orphans.Count == 0, $"the Python table names functions Uring.Scripting does not export: {string.Join(", ", orphans)}");
    }

    [Fact]
    public void Every_export_has_a_C_entry_point_name_the_python_package_knows()
    {
        // NativeAOT exports each function under its EntryPoint; the package binds by that name there.
        var python = LoadPythonTable();
        foreach (var method in Exported().Where(m => m.Name != "Export"))
        {
            var entry = method.GetCustomAttribute<UnmanagedCallersOnlyAttribute>()!.EntryPoint;
            Assert.False(string.IsNullOrEmpty(entry), $"{method.Name} has no EntryPoint");
            Assert.True(python.EntryPoints.TryGetValue(method.Name, out var known) && known == entry,
                $"{method.Name}: EntryPoint {entry}, the Python package expects {(known ?? "none")}");
        }
    }
}
