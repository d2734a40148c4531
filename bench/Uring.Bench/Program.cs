using System.Globalization;
using Uring.Bench;

// Plain harness rather than BenchmarkDotNet: the C loop and fio are separate processes whose
// figures must sit in the same table, with ratios, from one run.
var quick = args.Contains("--quick");
long nopOps = quick ? 2_000_000 : 10_000_000;
long readOps = quick ? 200_000 : 1_000_000;
var rows = new List<Measurement>();

Console.Error.WriteLine($"uring-bench: {(quick ? "quick" : "full")} run, {Environment.ProcessorCount} cores, kernel {Environment.OSVersion.Version}");
var cNop = External.BuildCNop();
foreach (var batch in new[] { 1, 32 })
{
    rows.Add(External.CNop(cNop, batch, nopOps));
    rows.Add(RawNop.Run(batch, nopOps));
    rows.Add(AwaitFloor.Run(batch, nopOps));
    foreach (var row in FacadeBench.Nop(batch, nopOps))
        rows.Add(row);
}

var file = DataFile.Prepare();
FileReads.ReadThrough(file);
const int queueDepth = 32;
rows.Add(External.Fio(file, queueDepth, quick ? 3 : 8));
foreach (var row in await FacadeBench.Reads(file, queueDepth, readOps))
    rows.Add(row);
rows.Add(await FileReads.RandomAccessAsync(file, queueDepth, readOps));

var table = Table.Format(rows);
Console.WriteLine(table);
var results = Path.Combine(External.RepoRoot, "bench/results");
Directory.CreateDirectory(results);
File.WriteAllText(Path.Combine(results, "latest.md"),
    $"Run {DateTime.UtcNow.ToString("u", CultureInfo.InvariantCulture)}, {(quick ? "quick" : "full")}\n\n{table}");
