using System.Reflection;
using System.Security.Cryptography;
using Uring.Bindings.Tests.Infrastructure;

namespace Uring.Bindings.Tests;

/// <summary>
/// Every exported model function resolves in the loaded liburing-ffi.so.2 and has a
/// <c>Liburing</c> method of the same shape; the library that is loaded is the pinned copy the
/// build placed next to the tests; a missing export is a clear error.
/// </summary>
public sealed class ExportTests
{
    private static readonly Type? s_liburing = ClrLayout.FindType("Liburing");

    [Fact]
    public void Every_exported_function_resolves_and_has_a_method()
    {
        var model = TestModel.Current;
        var exported = model.Functions.Where(f => f.Exported).ToList();
        Assert.True(exported.Count > 100, $"only {exported.Count} exported functions in the model: liburing-ffi exports several hundred");
        Assert.NotNull(s_liburing);

        var table = new Mismatches("function", "check", "expected", "found");
        var methods = s_liburing!.GetMethods(BindingFlags.Public | BindingFlags.Static).ToLookup(m => m.Name);
        foreach (var function in exported)
        {
            if (LiburingLibrary.TryResolve(function.Name) == IntPtr.Zero)
                table.Add(function.Name, "export in " + LiburingLibrary.LoadedFrom, "resolves", "missing");

            var candidates = methods[function.Name].ToList();
            var method = candidates.FirstOrDefault(m => m.GetParameters().Length == function.Parameters.Count);
            if (method is null)
            {
                table.Add(function.Name, "Liburing method", $"{function.Parameters.Count} parameter(s)",
                    candidates.Count == 0 ? "missing" : string.Join(", ", candidates.Select(c => $"{c.GetParameters().Length} parameter(s)")));
                continue;
            }
            CompareSignature(table, function, method);
        }
        table.AssertNone($"{exported.Count} exported functions");
    }

    [Fact]
    public void Key_functions_are_exported()
    {
        var exported = TestModel.Current.Functions.Where(f => f.Exported).Select(f => f.Name).ToHashSet();
        string[] required =
        [
            "io_uring_queue_init", "io_uring_queue_exit", "io_uring_get_sqe", "io_uring_prep_nop", "io_uring_prep_read",
            "io_uring_prep_readv", "io_uring_sqe_set_data64", "io_uring_submit", "io_uring_submit_and_wait",
            "io_uring_peek_cqe", "io_uring_wait_cqe", "io_uring_cqe_seen", "io_uring_cq_advance", "io_uring_setup_buf_ring",
        ];
        var missing = required.Where(r => !exported.Contains(r)).ToList();
        Assert.True(missing.Count == 0, $"not exported according to the model: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Functions_the_library_does_not_export_are_not_bound()
    {
        // A function the model says is not exported must not get a method that would call a missing export.
        Assert.NotNull(s_liburing);
        var methods = s_liburing!.GetMethods(BindingFlags.Public | BindingFlags.Static).Select(m => m.Name).ToHashSet();
        var wrong = TestModel.Current.Functions
            .Where(f => !f.Exported && methods.Contains(f.Name) && LiburingLibrary.TryResolve(f.Name) == IntPtr.Zero)
            .Select(f => f.Name).ToList();
        Assert.True(wrong.Count == 0, $"methods bound to functions liburing-ffi.so.2 does not export: {string.Join(", ", wrong)}");
    }

    [Fact]
    public void The_pinned_library_is_copied_next_to_the_tests_and_is_the_one_loaded()
    {
        Assert.True(string.IsNullOrEmpty(Environment.GetEnvironmentVariable(LiburingLibrary.PathVariable)),
            $"{LiburingLibrary.PathVariable} is set: this test checks the default search order, run it without the variable");
        var copied = Path.Combine(AppContext.BaseDirectory, LiburingLibrary.FileName);
        Assert.True(File.Exists(copied), $"the build did not copy {LiburingLibrary.FileName} to {AppContext.BaseDirectory}");

        var pinned = RepoLayout.PinnedLibrary(RepoLayout.DefaultGeneration());
        Assert.Equal(Sha256(pinned), Sha256(copied));
        Assert.Equal(Path.GetFullPath(copied), Path.GetFullPath(LiburingLibrary.LoadedFrom));

        // What the dynamic loader really mapped, independent of what LiburingLibrary says.
        _ = LiburingLibrary.Handle;
        var mapped = File.ReadAllLines("/proc/self/maps")
            .Where(l => l.Contains("liburing-ffi", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf('/'))..])
            .Distinct()
            .ToList();
        Assert.Equal([Path.GetFullPath(copied)], mapped);
    }

    [Fact]
    public void A_missing_export_names_the_function_and_the_library()
    {
        var error = Assert.Throws<EntryPointNotFoundException>(() => LiburingLibrary.Resolve("no_such_function"));
        Assert.Contains("no_such_function", error.Message);
        Assert.Contains(LiburingLibrary.LoadedFrom, error.Message);
        Assert.Equal(IntPtr.Zero, LiburingLibrary.TryResolve("no_such_function"));
    }

    private static void CompareSignature(Mismatches table, FunctionModel function, MethodInfo method)
    {
        var parameters = method.GetParameters();
        for (var i = 0; i < parameters.Length; i++)
        {
            var expected = function.Parameters[i];
            var expectedName = expected.Name; // C# spells keywords with '@'; reflection reports the bare name
            if (!string.IsNullOrEmpty(expectedName) && parameters[i].Name != expectedName)
                table.Add(function.Name, $"parameter {i} name", expectedName, parameters[i].Name);
            var type = CsTypes.Resolve(expected.CsType);
            if (type is not null && type != parameters[i].ParameterType)
                table.Add(function.Name, $"parameter {i} ({expected.Name}) type", $"{expected.CsType} ({expected.CType})", parameters[i].ParameterType.Name);
            else if (type is null && !expected.CsType.StartsWith("delegate*", StringComparison.Ordinal))
                table.Add(function.Name, $"parameter {i} ({expected.Name}) type", $"{expected.CsType} ({expected.CType})", $"{parameters[i].ParameterType.Name} (model csType names no known type)");
        }
        var ret = CsTypes.Resolve(function.ReturnCsType);
        if (ret is not null && ret != method.ReturnType)
            table.Add(function.Name, "return type", $"{function.ReturnCsType} ({function.ReturnCType})", method.ReturnType.Name);
        else if (ret is null && !function.ReturnCsType.StartsWith("delegate*", StringComparison.Ordinal))
            table.Add(function.Name, "return type", $"{function.ReturnCsType} ({function.ReturnCType})", $"{method.ReturnType.Name} (model csType names no known type)");
    }

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
}
