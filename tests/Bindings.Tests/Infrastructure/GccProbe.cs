using System.Globalization;
using System.Text;

namespace Uring.Bindings.Tests.Infrastructure;

/// <summary>What gcc says about one C record.</summary>
public sealed record GccRecord(long Size, long Align, IReadOnlyDictionary<string, GccField> Fields);

/// <summary>
/// offsetof and sizeof of a member; for a flexible array member <see cref="Size"/> is the size
/// of one element (sizeof of the member itself is not valid C). <see cref="Signed"/>: whether the
/// member's integer type (an array's element type) is signed; null when it is not an integer.
/// </summary>
public sealed record GccField(long Offset, long Size, bool? Signed = null);

/// <summary>An integer expression's value, the size of its C type, and whether that type is signed.</summary>
public sealed record GccInteger(Int128 Value, int Size, bool Signed);

/// <summary>An enum's own C type: its size and signedness (null for anonymous enums).</summary>
public sealed record GccEnum(int? Size, bool? Signed, IReadOnlyDictionary<string, GccInteger> Members);

public sealed record GccFacts(
    IReadOnlyDictionary<string, GccRecord> Records,
    IReadOnlyDictionary<string, GccInteger> Constants,
    IReadOnlyDictionary<string, string> StringConstants,
    IReadOnlyDictionary<string, double> FloatConstants,
    IReadOnlyList<GccEnum> Enums,
    string Source);

/// <summary>
/// Writes one C program that prints sizeof/_Alignof/offsetof of every model record and field
/// and the value of every model constant and enum member, compiles it with gcc against the
/// pinned sysroot and runs it. The numbers come from gcc alone, never from libclang.
/// </summary>
public static class GccProbe
{
    /// <summary>
    /// The pinned headers win over the machine's own: the sysroot's include root (as the generator
    /// passes it to libclang) and also its multiarch directory, so that asm/ comes from the pinned
    /// linux-libc-dev too rather than from whatever the machine has installed.
    /// </summary>
    public static IReadOnlyList<string> IncludeFlags(string sysroot) =>
    [
        "-D_GNU_SOURCE",
        "-isystem", Path.Combine(sysroot, "usr", "include", "x86_64-linux-gnu"),
        "-isystem", Path.Combine(sysroot, "usr", "include"),
    ];

    /// <summary>An opaque record of size 0: a type the headers only declare (pointer use only).</summary>
    public static bool IsIncomplete(RecordModel record) => record.Opaque && record.Size == 0;

    /// <summary>
    /// Whether gcc, seeing the same includes as the probe, rejects sizeof of the type as incomplete:
    /// the model may only call a record incomplete when it really is.
    /// </summary>
    public static (bool Incomplete, string Diagnostics) IsIncompleteInC(ApiModel model, RecordModel record, string sysroot)
    {
        var dir = Directory.CreateTempSubdirectory("uring-gcc-incomplete-");
        try
        {
            var c = Path.Combine(dir.FullName, "incomplete.c");
            var includes = string.Concat(new[] { "liburing.h" }.Concat(Headers(model)).Select(h => $"#include <{h}>\n"));
            File.WriteAllText(c, $"{includes}unsigned long probe_size = sizeof({record.CName});\n");
            var compile = Processes.Run("gcc", ["-std=gnu11", "-fsyntax-only", .. IncludeFlags(sysroot), c], dir.FullName, TimeSpan.FromMinutes(1));
            return (compile.ExitCode != 0 && compile.StdErr.Contains("incomplete type", StringComparison.Ordinal), compile.StdErr);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>gcc's facts for a model, against one sysroot; <paramref name="includes"/> are headers
    /// to include besides liburing.h and the ones declaring model records.</summary>
    public static GccFacts Run(ApiModel model, string sysroot, IReadOnlyList<string>? includes = null)
    {
        var source = GenerateSource(model, includes ?? []);
        var dir = Directory.CreateTempSubdirectory("uring-gcc-probe-");
        try
        {
            var c = Path.Combine(dir.FullName, "probe.c");
            var exe = Path.Combine(dir.FullName, "probe");
            File.WriteAllText(c, source);
            var compile = Processes.Run("gcc",
                ["-std=gnu11", "-O0", .. IncludeFlags(sysroot), "-o", exe, c],
                dir.FullName, TimeSpan.FromMinutes(3));
            if (compile.ExitCode != 0)
                throw new InvalidOperationException(
                    $"gcc could not compile the layout probe (exit {compile.ExitCode}):\n{Truncate(compile.StdErr, 6000)}\n--- probe.c ---\n{Truncate(source, 4000)}");
            var run = Processes.Run(exe, [], dir.FullName, TimeSpan.FromMinutes(1));
            if (run.ExitCode != 0)
                throw new InvalidOperationException($"the layout probe failed (exit {run.ExitCode}):\n{run.StdErr}");
            return Parse(model, run.StdOut, source);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    public static string GenerateSource(ApiModel model, IReadOnlyList<string> includes)
    {
        var sb = new StringBuilder();
        sb.AppendLine("/* Generated by Uring.Bindings.Tests: layout and constant facts as gcc sees them. */");
        sb.AppendLine("#include <stdio.h>");
        sb.AppendLine("#include <stddef.h>");
        sb.AppendLine("#include <liburing.h>");
        foreach (var header in Headers(model).Concat(includes))
            sb.AppendLine($"#include <{header}>");
        sb.AppendLine("""
            #define PROBE_SIGNED(x) ((__typeof__(x))-1 < (__typeof__(x))0)
            #define PROBE_INT(tag, x) do { \
                if ((x) < 0) printf("%s\t-%llu\t%zu\t%d\n", tag, 0ULL - (unsigned long long)(long long)(x), sizeof(x), (int)PROBE_SIGNED(x)); \
                else printf("%s\t%llu\t%zu\t%d\n", tag, (unsigned long long)(x), sizeof(x), (int)PROBE_SIGNED(x)); \
            } while (0)
            #define PROBE_MEMBER_SIZE(type, member) sizeof(((type *)0)->member)
            #define PROBE_ELEMENT_SIZE(type, member) sizeof(((type *)0)->member[0])
            static void probe_string(const char *index, const char *s)
            {
                printf("S\t%s\t", index);
                for (; *s; s++)
                    printf("%02x", (unsigned char)*s);
                printf("\n");
            }

            int main(void)
            {
            """);
        for (var r = 0; r < model.Records.Count; r++)
        {
            var record = model.Records[r];
            if (IsIncomplete(record))
                continue; // no sizeof: checked by IsIncompleteInC instead
            sb.AppendLine($"    printf(\"R\\t{r}\\t%zu\\t%zu\\n\", sizeof({record.CName}), _Alignof({record.CName}));");
            if (record.Opaque)
                continue;
            for (var f = 0; f < record.Fields.Count; f++)
            {
                var field = record.Fields[f];
                if (field.Bitfield)
                    continue;
                var size = field.Flexible ? "PROBE_ELEMENT_SIZE" : "PROBE_MEMBER_SIZE";
                // Signedness only where the model says the member (or its element) is an integer:
                // the probe expression is not valid C for structs.
                var element = field.Flexible || field.ArrayLength is > 0 ? $"(({record.CName} *)0)->{field.Name}[0]" : $"(({record.CName} *)0)->{field.Name}";
                var signed = CsTypes.KindOf(field.CsType) == CsTypes.Kind.Integer ? $"(int)PROBE_SIGNED({element})" : "-1";
                sb.AppendLine($"    printf(\"F\\t{r}\\t{f}\\t%zu\\t%zu\\t%d\\n\", offsetof({record.CName}, {field.Name}), {size}({record.CName}, {field.Name}), {signed});");
            }
        }
        for (var i = 0; i < model.Constants.Count; i++)
        {
            var constant = model.Constants[i];
            switch (CsTypes.KindOf(constant.CsType))
            {
                case CsTypes.Kind.String:
                    sb.AppendLine($"    probe_string(\"{i}\", {constant.Name});");
                    break;
                case CsTypes.Kind.Float:
                    sb.AppendLine($"    printf(\"D\\t{i}\\t%.17g\\n\", (double)({constant.Name}));");
                    break;
                default:
                    sb.AppendLine($"    PROBE_INT(\"C\\t{i}\", {constant.Name});");
                    break;
            }
        }
        for (var e = 0; e < model.Enums.Count; e++)
        {
            var en = model.Enums[e];
            if (!en.IsAnonymous)
                sb.AppendLine($"    printf(\"T\\t{e}\\t%zu\\t%d\\n\", sizeof({en.CName}), (int)(({en.CName})-1 < ({en.CName})0));");
            for (var m = 0; m < en.Members.Count; m++)
                sb.AppendLine($"    PROBE_INT(\"E\\t{e}\\t{m}\", {en.Members[m].Name});");
        }
        sb.AppendLine("    return 0;");
        sb.AppendLine("}");
        return sb.ToString();
    }

    /// <summary>Headers outside liburing.h that declare model records, included so that
    /// external records (e.g. struct statx) are complete types in the probe.</summary>
    private static IEnumerable<string> Headers(ApiModel model) =>
        model.Records.Select(r => r.Header)
            .Where(h => !string.IsNullOrEmpty(h) && h != "liburing.h" && !Path.IsPathRooted(h)
                        && !h.StartsWith("bits/", StringComparison.Ordinal) && !h.Contains("/bits/", StringComparison.Ordinal))
            .Distinct()
            .Order(StringComparer.Ordinal);

    private static GccFacts Parse(ApiModel model, string output, string source)
    {
        var records = new Dictionary<string, (long Size, long Align, Dictionary<string, GccField> Fields)>();
        var constants = new Dictionary<string, GccInteger>();
        var strings = new Dictionary<string, string>();
        var floats = new Dictionary<string, double>();
        var enumTypes = new (int? Size, bool? Signed)[model.Enums.Count];
        var enumMembers = model.Enums.Select(_ => new Dictionary<string, GccInteger>()).ToArray();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = line.Split('\t');
            switch (p[0])
            {
                case "R":
                    records[model.Records[Int(p[1])].CsName] = (Long(p[2]), Long(p[3]), []);
                    break;
                case "F":
                    {
                        var record = model.Records[Int(p[1])];
                        records[record.CsName].Fields[record.Fields[Int(p[2])].Name] =
                            new GccField(Long(p[3]), Long(p[4]), p[5] == "-1" ? null : p[5] == "1");
                        break;
                    }
                case "C":
                    constants[model.Constants[Int(p[1])].Name] = Integer(p[2], p[3], p[4]);
                    break;
                case "S":
                    strings[model.Constants[Int(p[1])].Name] = System.Text.Encoding.UTF8.GetString(Convert.FromHexString(p.Length > 2 ? p[2] : ""));
                    break;
                case "D":
                    floats[model.Constants[Int(p[1])].Name] = double.Parse(p[2], CultureInfo.InvariantCulture);
                    break;
                case "T":
                    enumTypes[Int(p[1])] = (Int(p[2]), p[3] == "1");
                    break;
                case "E":
                    {
                        var e = Int(p[1]);
                        enumMembers[e][model.Enums[e].Members[Int(p[2])].Name] = Integer(p[3], p[4], p[5]);
                        break;
                    }
                default:
                    throw new InvalidDataException($"unexpected probe output line: {line}");
            }
        }
        return new GccFacts(
            records.ToDictionary(kv => kv.Key, kv => new GccRecord(kv.Value.Size, kv.Value.Align, kv.Value.Fields)),
            constants,
            strings,
            floats,
            enumTypes.Select((t, i) => new GccEnum(t.Size, t.Signed, enumMembers[i])).ToList(),
            source);

        static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);
        static long Long(string s) => long.Parse(s, CultureInfo.InvariantCulture);
        static GccInteger Integer(string value, string size, string signed) =>
            new(Int128.Parse(value, CultureInfo.InvariantCulture), Int(size), signed == "1");
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "\n…(truncated)";
}
