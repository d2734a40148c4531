using System.Globalization;
using System.Text;

namespace Uring.Bench;

/// <summary>Prints results as a Markdown table (pasted as-is into the README), each row with its
/// ratio to the group's baseline (the first row of the group): the ratio of the rows' figures, or
/// the median of per-round ratios with their range where the group measured in rounds.</summary>
internal static class Table
{
    public static string Format(IReadOnlyList<Measurement> rows)
    {
        var text = new StringBuilder();
        var culture = CultureInfo.InvariantCulture;
        text.Append("| group | case | ops/s | ns/op | B alloc/op | ratio to baseline |\n");
        text.Append("|---|---|---:|---:|---:|---:|\n");
        foreach (var group in rows.GroupBy(r => r.Group))
        {
            var baseline = group.First();
            foreach (var row in group)
            {
                var alloc = row.BytesAllocatedPerOp is { } b ? b.ToString("F2", culture) : "n/a";
                var ratio = ReferenceEquals(row, baseline) ? "1.00 (baseline)"
                    : row.Ratio is { } r ? string.Create(culture, $"{r:F2} ({row.RatioLow:F2}–{row.RatioHigh:F2})")
                    : (row.OpsPerSecond / baseline.OpsPerSecond).ToString("F2", culture);
                text.Append(culture, $"| {row.Group} | {row.Name} | {row.OpsPerSecond:N0} | {row.NanosecondsPerOp:F1} | {alloc} | {ratio} |\n");
            }
        }
        return text.ToString();
    }
}
