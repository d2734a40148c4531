using System.Text;
using Uring.Generator.Model;

namespace Uring.Generator;

/// <summary>What changed between two API models, as rows of a table.</summary>
internal static class ModelDiff
{
    public sealed record Row(string Kind, string Name, string Change, string Old, string New);

    public static List<Row> Compare(ApiModel before, ApiModel after)
    {
        var rows = new List<Row>();

        // Opcodes first: the most common reason to regenerate.
        var opcodesBefore = EnumMembers(before, "io_uring_op");
        var opcodesAfter = EnumMembers(after, "io_uring_op");
        CompareMaps(rows, "opcode", opcodesBefore, opcodesAfter);

        var constantsBefore = before.Constants.GroupBy(c => c.Name).ToDictionary(g => g.Key, g => Describe(g.First()));
        var constantsAfter = after.Constants.GroupBy(c => c.Name).ToDictionary(g => g.Key, g => Describe(g.First()));
        CompareMaps(rows, "constant", constantsBefore, constantsAfter);

        var enumsBefore = before.Enums.Where(e => e.CsName != "io_uring_op").ToDictionary(e => e.CsName);
        var enumsAfter = after.Enums.Where(e => e.CsName != "io_uring_op").ToDictionary(e => e.CsName);
        CompareKeys(rows, "enum", enumsBefore.Keys, enumsAfter.Keys, name => $"{name} ({enumsAfter.GetValueOrDefault(name)?.Members.Count ?? enumsBefore[name].Members.Count} members)");
        foreach (var name in enumsBefore.Keys.Intersect(enumsAfter.Keys).Order(StringComparer.Ordinal))
            CompareMaps(rows, "enum member", EnumMembers(before, name), EnumMembers(after, name), prefix: name + ".");

        var recordsBefore = before.Records.ToDictionary(r => r.CsName);
        var recordsAfter = after.Records.ToDictionary(r => r.CsName);
        CompareKeys(rows, "struct", recordsBefore.Keys, recordsAfter.Keys, name =>
        {
            var r = recordsAfter.GetValueOrDefault(name) ?? recordsBefore[name];
            return $"{r.Size} bytes, {r.Fields.Count} fields";
        });
        foreach (var name in recordsBefore.Keys.Intersect(recordsAfter.Keys).Order(StringComparer.Ordinal))
        {
            var (old, now) = (recordsBefore[name], recordsAfter[name]);
            if (old.Size != now.Size || old.Align != now.Align)
                rows.Add(new Row("struct", name, "layout", $"{old.Size} B / align {old.Align}", $"{now.Size} B / align {now.Align}"));
            CompareMaps(rows, "field", old.Fields.ToDictionary(f => f.Name, DescribeField),
                now.Fields.ToDictionary(f => f.Name, DescribeField), prefix: name + ".");
        }

        var functionsBefore = before.Functions.Where(f => f.Exported).ToDictionary(f => f.Name, DescribeFunction);
        var functionsAfter = after.Functions.Where(f => f.Exported).ToDictionary(f => f.Name, DescribeFunction);
        CompareMaps(rows, "function", functionsBefore, functionsAfter);

        // Models written before errno names were generated have none.
        CompareMaps(rows, "errno", Errnos(before), Errnos(after));
        return rows;
    }

    private static Dictionary<string, string> EnumMembers(ApiModel model, string csName) =>
        model.Enums.FirstOrDefault(e => e.CsName == csName)?.Members.ToDictionary(m => m.Name, m => m.Value)
        ?? new Dictionary<string, string>();

    private static Dictionary<string, string> Errnos(ApiModel model) =>
        (model.Errnos ?? []).ToDictionary(e => e.Name, e => e.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static string Describe(ConstantModel constant) => $"{constant.Value} ({constant.CsType})";

    private static string DescribeField(FieldModel field) => $"@{field.Offset} {field.CType}";

    private static string DescribeFunction(FunctionModel function) =>
        $"{function.ReturnCsType}({string.Join(", ", function.Parameters.Select(p => p.CsType))})" +
        (function.MayEnterKernel ? "" : " nogc");

    private static void CompareKeys(List<Row> rows, string kind, IEnumerable<string> before, IEnumerable<string> after, Func<string, string> describe)
    {
        var old = before.ToHashSet(StringComparer.Ordinal);
        var now = after.ToHashSet(StringComparer.Ordinal);
        foreach (var name in now.Except(old).Order(StringComparer.Ordinal))
            rows.Add(new Row(kind, name, "added", "", describe(name)));
        foreach (var name in old.Except(now).Order(StringComparer.Ordinal))
            rows.Add(new Row(kind, name, "removed", describe(name), ""));
    }

    private static void CompareMaps(List<Row> rows, string kind, Dictionary<string, string> before, Dictionary<string, string> after, string prefix = "")
    {
        foreach (var (name, value) in after.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!before.TryGetValue(name, out var old))
                rows.Add(new Row(kind, prefix + name, "added", "", value));
            else if (old != value)
                rows.Add(new Row(kind, prefix + name, "changed", old, value));
        }
        foreach (var (name, value) in before.OrderBy(p => p.Key, StringComparer.Ordinal))
            if (!after.ContainsKey(name))
                rows.Add(new Row(kind, prefix + name, "removed", value, ""));
    }

    /// <summary>A Markdown table (readable as plain text, pasteable into docs) and a per-kind count.</summary>
    public static string Format(string beforeName, string afterName, List<Row> rows)
    {
        var text = new StringBuilder();
        text.Append($"API diff {beforeName} -> {afterName}: ");
        if (rows.Count == 0)
            return text.Append("no differences\n").ToString();
        text.Append(string.Join(", ", rows.GroupBy(r => (r.Kind, r.Change))
            .Select(g => $"{g.Count()} {g.Key.Kind}{(g.Count() == 1 ? "" : "s")} {g.Key.Change}"))).Append('\n');
        string[] header = ["kind", "name", "change", beforeName, afterName];
        var cells = rows.Select(r => new[] { r.Kind, r.Name, r.Change, r.Old, r.New }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, cells.Select(c => c[i].Length).DefaultIfEmpty(0).Max())).ToArray();
        void Line(string[] values) =>
            text.Append("| ").Append(string.Join(" | ", values.Select((v, i) => v.PadRight(widths[i])))).Append(" |\n");
        Line(header);
        Line(widths.Select(w => new string('-', w)).ToArray());
        foreach (var row in cells)
            Line(row);
        return text.ToString();
    }
}
