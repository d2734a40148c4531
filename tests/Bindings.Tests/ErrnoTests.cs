using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Uring.Bindings.Tests.Infrastructure;

namespace Uring.Bindings.Tests;

/// <summary>
/// The generated errno names (<c>LinuxErrno</c> in C#, <c>python/uring/_errno.py</c>) against gcc's
/// view of the uapi errno headers of the default pin (where the generator takes them from): every
/// errno they define is named, every generated name has gcc's value, and the consumers use them.
/// </summary>
public sealed class ErrnoTests
{
    private static readonly string[] s_headers = ["asm-generic/errno-base.h", "asm-generic/errno.h"];

    /// <summary>Each errno macro in definition order with gcc's value: names from gcc's preprocessor
    /// (every macro the two headers define, include guards aside), values from a compiled probe.</summary>
    private static readonly Lazy<List<(string Name, int Value)>> s_gcc = new(() =>
    {
        var sysroot = RepoLayout.Sysroot(RepoLayout.DefaultGeneration());
        var names = DefinedIn(sysroot);
        var probe = new ApiModel
        {
            Generation = RepoLayout.DefaultGeneration(),
            Constants = names.Select(n => new ConstantModel { Name = n, CsType = "int" }).ToList(),
        };
        var facts = GccProbe.Run(probe, sysroot, [s_headers[1]]);
        return names.Select(n => (n, (int)facts.Constants[n].Value)).ToList();
    });

    private static readonly Lazy<PythonTable> s_python = new(PythonTable.Load);

    private static Type LinuxErrnoType => ClrLayout.FindType("LinuxErrno") ?? throw new InvalidOperationException("no Uring.Bindings.LinuxErrno");

    /// <summary>The public int constants of the generated class: name → value.</summary>
    private static Dictionary<string, int> CSharpConstants() =>
        LinuxErrnoType.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(int))
            .ToDictionary(f => f.Name, f => (int)f.GetRawConstantValue()!);

    [Fact]
    public void Every_errno_the_uapi_headers_define_is_named_in_CSharp_and_Python()
    {
        var gcc = s_gcc.Value;
        Assert.True(gcc.Count > 100, $"gcc sees only {gcc.Count} errno macros in {string.Join(", ", s_headers)}");
        var cs = CSharpConstants();
        var python = s_python.Value;
        var table = new Mismatches("errno", "check", "gcc", "generated");
        foreach (var (name, value) in gcc)
        {
            if (!cs.TryGetValue(name, out var csValue) || csValue != value)
                table.Add(name, "C# LinuxErrno constant", value, cs.ContainsKey(name) ? csValue : "missing");
            if (LinuxErrno.NameOf(value) is null)
                table.Add(name, "C# LinuxErrno.NameOf", value, "null");
            if (!python.ByName.TryGetValue(name, out var pyValue) || pyValue != value)
                table.Add(name, "Python BY_NAME", value, python.ByName.ContainsKey(name) ? pyValue : "missing");
            if (!python.ByValue.ContainsKey(value))
                table.Add(name, "Python BY_VALUE", value, "missing");
        }
        table.AssertNone($"{gcc.Count} errno macros");
    }

    [Fact]
    public void Every_generated_errno_name_has_gccs_value_and_a_value_its_first_name()
    {
        var gcc = s_gcc.Value;
        var gccValues = gcc.ToDictionary(e => e.Name, e => e.Value);
        // The name an errno value is known by: the first macro defining it (EAGAIN, not EWOULDBLOCK).
        var firstNames = gcc.GroupBy(e => e.Value).ToDictionary(g => g.Key, g => g.First().Name);
        var table = new Mismatches("name", "check", "gcc", "generated");
        void Expect(string where, string name, int value)
        {
            if (!gccValues.TryGetValue(name, out var expected))
                table.Add(name, where, "not defined", value);
            else if (expected != value)
                table.Add(name, where, expected, value);
        }

        foreach (var (name, value) in CSharpConstants())
            Expect("C# constant", name, value);
        foreach (var entry in LinuxErrno.All)
        {
            Expect("C# LinuxErrno.All", entry.Name, entry.Value);
            if (firstNames.GetValueOrDefault(entry.Value) is { } first && first != entry.Name)
                table.Add(entry.Name, "C# name of the value", first, entry.Name);
        }
        var python = s_python.Value;
        foreach (var (name, value) in python.ByName)
            Expect("Python BY_NAME", name, value);
        foreach (var (value, (name, _)) in python.ByValue)
        {
            Expect("Python BY_VALUE", name, value);
            if (firstNames.GetValueOrDefault(value) is { } first && first != name)
                table.Add(name, "Python name of the value", first, name);
        }
        if (LinuxErrno.All.Count != firstNames.Count || LinuxErrno.All.Select(e => e.Value).Distinct().Count() != firstNames.Count)
            table.Add("(all)", "C# values, once each", firstNames.Count, LinuxErrno.All.Count);
        if (python.ByValue.Count != firstNames.Count)
            table.Add("(all)", "Python values", firstNames.Count, python.ByValue.Count);
        table.AssertNone("generated errno names");
    }

    [Theory]
    // ABI facts, independent of gcc: so the tables cannot agree with a consistently wrong probe.
    [InlineData(104, "ECONNRESET", "Connection reset by peer")]
    [InlineData(98, "EADDRINUSE", "Address already in use")]
    [InlineData(105, "ENOBUFS", "No buffer space available")]
    [InlineData(111, "ECONNREFUSED", "Connection refused")]
    [InlineData(11, "EAGAIN", "Try again")]
    [InlineData(35, "EDEADLK", "Resource deadlock would occur")]
    [InlineData(125, "ECANCELED", "Operation Canceled")]
    public void Well_known_errnos_have_their_names(int value, string name, string message)
    {
        Assert.Equal(name, LinuxErrno.NameOf(value));
        Assert.Equal(message, LinuxErrno.MessageOf(value));
        Assert.Equal((name, (string?)message), s_python.Value.ByValue[value]);
    }

    [Fact]
    public void Values_the_headers_do_not_define_have_no_name()
    {
        Assert.Null(LinuxErrno.NameOf(0));
        Assert.Null(LinuxErrno.NameOf(-104));
        Assert.Null(LinuxErrno.NameOf(41)); // a gap in the kernel's numbering
        Assert.Null(LinuxErrno.NameOf(4096));
        Assert.Null(LinuxErrno.MessageOf(4096));
    }

    /// <summary>python/uring/errors.py names an errno the way the generated table does, for every
    /// value (Python's own errno module would say EDEADLOCK for 35, and nothing for Linux 7's EFTYPE).</summary>
    [Fact]
    public void Python_errors_use_the_generated_names()
    {
        const string script = """
            import importlib, json, sys, types
            package = types.ModuleType("uring")
            package.__path__ = [sys.argv[1]]  # the package's modules, without running its __init__
            sys.modules["uring"] = package
            errors = importlib.import_module("uring.errors")
            table = importlib.import_module("uring._errno").BY_VALUE
            wrong = []
            for value, (name, _) in table.items():
                error = errors.make_error(errors.KIND_IO, value, None, "IORING_OP_RECV")
                if errors.errno_name(value) != name or f"({name})" not in str(error):
                    wrong.append(f"{value} {name}: {error}")
            print(json.dumps({"checked": len(table), "wrong": wrong}))
            """;
        var run = Processes.Run("python3", ["-c", script, Path.Combine(RepoLayout.Root, "python", "uring")], RepoLayout.Root, TimeSpan.FromMinutes(1));
        Assert.True(run.ExitCode == 0, run.StdErr);
        using var result = JsonDocument.Parse(run.StdOut);
        Assert.Equal(LinuxErrno.All.Count, result.RootElement.GetProperty("checked").GetInt32());
        var wrong = result.RootElement.GetProperty("wrong").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.True(wrong.Count == 0, "errors.py names these differently:\n" + string.Join('\n', wrong));
    }

    /// <summary>Macros gcc's preprocessor records as defined in the two errno headers, in order.</summary>
    private static List<string> DefinedIn(string sysroot)
    {
        var dir = Directory.CreateTempSubdirectory("uring-errno-");
        try
        {
            var c = Path.Combine(dir.FullName, "errno.c");
            File.WriteAllText(c, $"#include <{s_headers[1]}>\n");
            var result = Processes.Run("gcc", ["-E", "-dD", .. GccProbe.IncludeFlags(sysroot), c], dir.FullName, TimeSpan.FromMinutes(1));
            Assert.True(result.ExitCode == 0, result.StdErr);
            var names = new List<string>();
            var current = "";
            foreach (var line in result.StdOut.Split('\n'))
            {
                var marker = Regex.Match(line, "^# \\d+ \"(.*)\"");
                if (marker.Success)
                    current = marker.Groups[1].Value;
                else if (line.StartsWith("#define ", StringComparison.Ordinal) && s_headers.Any(h => current.EndsWith("/" + h, StringComparison.Ordinal)))
                {
                    var name = line["#define ".Length..].Split(' ', '\t', '(')[0];
                    if (!name.StartsWith('_'))
                        names.Add(name);
                }
            }
            return names;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>python/uring/_errno.py as Python reads it.</summary>
    private sealed record PythonTable(Dictionary<int, (string Name, string? Message)> ByValue, Dictionary<string, int> ByName)
    {
        public static PythonTable Load()
        {
            const string script = """
                import json, runpy, sys
                table = runpy.run_path(sys.argv[1])
                print(json.dumps({"byValue": [[v, n, m] for v, (n, m) in table["BY_VALUE"].items()], "byName": table["BY_NAME"]}))
                """;
            var path = Path.Combine(RepoLayout.Root, "python", "uring", "_errno.py");
            var run = Processes.Run("python3", ["-c", script, path], RepoLayout.Root, TimeSpan.FromMinutes(1));
            if (run.ExitCode != 0)
                throw new InvalidOperationException($"python3 could not read {path}:\n{run.StdErr}");
            using var json = JsonDocument.Parse(run.StdOut);
            var byValue = json.RootElement.GetProperty("byValue").EnumerateArray()
                .ToDictionary(e => e[0].GetInt32(), e => (e[1].GetString()!, e[2].ValueKind == JsonValueKind.Null ? null : e[2].GetString()));
            var byName = json.RootElement.GetProperty("byName").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
            return new PythonTable(byValue, byName);
        }
    }
}
