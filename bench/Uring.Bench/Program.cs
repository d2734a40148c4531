using System.Globalization;
using Uring;
using Uring.Bench;

// Plain harness rather than BenchmarkDotNet: the C loop and fio are separate processes whose
// figures must sit in the same table, with ratios, from one run.
//
//   uring-bench [--quick] [--only nop,cached,direct] [--seconds S] [--rounds N]
//               [--nop-batches 1,32] [--nop-rounds N] [--cases substring,substring]
//
// NOP group: --nop-rounds rounds (default 11, --quick 5) of one pass of every case, 0.25 s each
// (--quick 0.1; see NopGroup).
// --nop-batches and --cases narrow it (for A/B runs of two builds in the same minutes): only
// those batch sizes, only the cases whose name contains one of the substrings.
//
// O_DIRECT group: --rounds passes of every case (default 3, --quick 1), each pass --seconds
// long (default 0.8, --quick 0.5); every row is the median of its passes.
if (args.Length > 0 && args[0] == DirectReads.ChildCommand)
    return DirectReads.ChildMain(args);
if (args.Length > 0 && args[0] == NopGroup.ChildCommand)
    return NopGroup.ChildMain(args);

var c = CultureInfo.InvariantCulture;
var quick = args.Contains("--quick");
string? Option(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
var groups = (Option("--only") ?? "nop,cached,direct").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
if (groups.Except(["nop", "cached", "direct"]).FirstOrDefault() is { } unknown)
{
    Console.Error.WriteLine($"uring-bench: unknown group '{unknown}' (groups: nop, cached, direct)");
    return 2;
}
var direct = new DirectSettings(
    Seconds: Option("--seconds") is { } s ? double.Parse(s, c) : quick ? 0.5 : 0.8,
    Ramp: 0.2,
    Rounds: Option("--rounds") is { } r ? int.Parse(r, c) : quick ? 1 : 3,
    MinimumWarmup: quick ? 0.5 : 1);
long readOps = quick ? 200_000 : 1_000_000;

var started = DateTime.UtcNow;
var loadBefore = External.LoadAverage();
Console.Error.WriteLine($"uring-bench: {(quick ? "quick" : "full")} run, {Environment.ProcessorCount} cores, kernel {Ring.KernelRelease}, load average {loadBefore}");

var rows = new List<Measurement>();
var notes = new List<string>();
if (groups.Contains("nop"))
{
    var batches = (Option("--nop-batches") ?? "1,32").Split(',').Select(b => int.Parse(b, c)).ToList();
    var cases = Option("--cases")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    var nopRounds = Option("--nop-rounds") is { } n ? int.Parse(n, c) : quick ? 5 : 11;
    rows.AddRange(NopGroup.Run(batches, quick ? 0.1 : 0.25, nopRounds, direct.MinimumWarmup,
        name => cases is null || cases.Any(part => name.Contains(part, StringComparison.OrdinalIgnoreCase)), notes));
}

string? file = groups.Contains("cached") || groups.Contains("direct") ? DataFile.Prepare() : null;
if (groups.Contains("cached"))
{
    FileReads.ReadThrough(file!);
    const int queueDepth = 32;
    rows.Add(External.Fio(file!, queueDepth, quick ? 3 : 8));
    foreach (var row in await FacadeBench.Reads(file!, queueDepth, readOps))
        rows.Add(row);
    rows.Add(await FileReads.RandomAccessAsync(file!, queueDepth, readOps));
}

List<DirectRow> directRows = [];
if (groups.Contains("direct"))
{
    Console.Error.WriteLine($"uring-bench: O_DIRECT 4 KiB random reads of {file}, {direct}");
    directRows = DirectReads.Run(file!, direct);
}

var loadAfter = External.LoadAverage();
var command = string.Join(' ', ["bench/run.sh", .. args]);
var report = new System.Text.StringBuilder();
report.Append(c, $"Run {started.ToString("yyyy-MM-dd HH:mm", c)} UTC ({(quick ? "quick" : "full")}, `{command}`), {Environment.ProcessorCount} cores, ");
report.Append(c, $"kernel {Ring.KernelRelease}; load average (1/5/15 min) {loadBefore} at the start, {loadAfter} at the end.\n");
if (rows.Count > 0)
    report.Append('\n').Append(Table.Format(rows));
if (notes.Count > 0)
    report.Append('\n').AppendJoin('\n', notes.Select(note => $"- {note}")).Append('\n');
if (directRows.Count > 0)
{
    report.Append(c, $"\nO_DIRECT 4 KiB random reads of a 1 GiB file; each row the median of {direct.Rounds} pass(es) of {direct.Seconds} s (after {direct.Ramp} s of ramp), the rounds interleaved:\n\n");
    report.Append(DirectTable.Format(directRows)).Append('\n').Append(DirectTable.Notes(directRows));
}
Console.WriteLine(report);
var results = Path.Combine(External.RepoRoot, "bench/results");
Directory.CreateDirectory(results);
File.WriteAllText(Path.Combine(results, "latest.md"), report.ToString());
return 0;
