using System.Text;

namespace Uring.Bindings.Tests.Infrastructure;

/// <summary>Collects every disagreement of a check, so that one failing assertion shows them all as a table.</summary>
public sealed class Mismatches
{
    private readonly string[] _columns;
    private readonly List<string[]> _rows = [];

    public Mismatches(params string[] columns) => _columns = columns;

    public int Count => _rows.Count;

    /// <summary>The rows recorded so far, as text cells.</summary>
    public IReadOnlyList<string[]> Rows => _rows;

    public void Add(params object?[] cells) =>
        _rows.Add(cells.Select(c => c switch { null => "—", string s => s, _ => c.ToString() ?? "" }).ToArray());

    /// <summary>Adds a row when the values differ (a null <paramref name="actual"/> means "missing").</summary>
    public void Compare<T>(string subject, string check, T expected, T actual, string source)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual!))
            Add(subject, check, expected, actual, source);
    }

    public override string ToString()
    {
        var widths = _columns.Select((c, i) => Math.Max(c.Length, _rows.Count == 0 ? 0 : _rows.Max(r => i < r.Length ? r[i].Length : 0))).ToArray();
        var sb = new StringBuilder();
        void Line(IReadOnlyList<string> cells) =>
            sb.AppendLine(string.Join(" | ", widths.Select((w, i) => (i < cells.Count ? cells[i] : "").PadRight(w))).TrimEnd());
        Line(_columns);
        sb.AppendLine(string.Join("-+-", widths.Select(w => new string('-', w))));
        foreach (var row in _rows)
            Line(row);
        return sb.ToString();
    }

    /// <summary>Fails with the whole table when anything was recorded.</summary>
    public void AssertNone(string what)
    {
        if (_rows.Count > 0)
            Assert.Fail($"{what}: {_rows.Count} mismatch(es)\n{this}");
    }
}
