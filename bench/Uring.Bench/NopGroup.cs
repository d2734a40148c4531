using System.Diagnostics;
using System.Globalization;

namespace Uring.Bench;

/// <summary>One in-process NOP case, run in its own <see cref="ChildProcess"/>.</summary>
internal interface INopCase : IDisposable
{
    /// <summary>Runs about <paramref name="operations"/> NOPs (a whole number of batches);
    /// returns how many it ran.</summary>
    long Run(long operations);
}

internal enum NopCase
{
    Raw,
    Batch,
    Floor,
    Await,
}

/// <summary>
/// The NOP group: C liburing, the raw bindings, <see cref="RingBatch"/>, the await floor and the
/// façade's await per operation, at each batch size. Every .NET case runs in its own process (so
/// one case's JIT profile cannot shape another's code), warmed up first; then
/// <c>rounds</c> rounds each run one pass of every case in turn, and each row is the median of
/// its passes. A row's ratio is the median of its per-round ratios to the baseline's pass of the
/// same round, with their range: on a machine whose speed drifts from minute to minute, passes
/// seconds apart compare fairly where whole runs do not.
/// </summary>
internal static class NopGroup
{
    public const string ChildCommand = "nop-case";
    private const string CName = "C liburing (gcc -O2)";

    private static string Name(NopCase kind, int batch) => kind switch
    {
        NopCase.Raw => "C# raw bindings",
        NopCase.Batch => "C# façade, RingBatch (no future per op)",
        NopCase.Floor => $"C# minimal await loop, no façade (floor), {batch} in flight",
        NopCase.Await => $"C# façade, await per op, {batch} in flight",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static INopCase Create(NopCase kind, int batch) => kind switch
    {
        NopCase.Raw => new RawNop(batch),
        NopCase.Batch => new BatchNop(batch),
        NopCase.Floor => new AwaitFloor(batch),
        NopCase.Await => new FacadeNop(batch),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The child's side: <c>nop-case KIND BATCH MINIMUM-WARMUP</c>, then "pass SECONDS"
    /// lines, each answered with "ops=N seconds=S alloc=B" after running chunks of operations for at
    /// least that long (B: bytes allocated per operation by all threads, measured at the margin
    /// once after the warm-up).</summary>
    public static int ChildMain(string[] args)
    {
        var c = CultureInfo.InvariantCulture;
        var kind = Enum.Parse<NopCase>(args[1]);
        var batch = int.Parse(args[2], c);
        var minimumWarmup = TimeSpan.FromSeconds(double.Parse(args[3], c));
        using var nopCase = Create(kind, batch);
        long chunk = Math.Max(batch, 65_536 / batch * batch);
        var clock = Stopwatch.StartNew();
        var passes = 0;
        long warmed = 0;
        for (; passes == 0 || clock.Elapsed < minimumWarmup; passes++)
            warmed += nopCase.Run(chunk);
        // Passes run in chunks of about 80 ms, so that a case's set-up per run (the await cases
        // start their loops on the thread pool and wait for them) costs next to nothing.
        chunk = Math.Max(batch, (long)(warmed / clock.Elapsed.TotalSeconds * 0.08) / batch * batch);
        // Bytes per operation at the margin: what 2n operations allocate beyond n, divided by n, so
        // that a case's one-off objects per run (the async loops' state machines) do not count.
        long Allocated(long operations)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            nopCase.Run(operations);
            return GC.GetTotalAllocatedBytes(precise: true) - before;
        }
        var perOp = Math.Max(0, (double)(Allocated(2 * chunk) - Allocated(chunk)) / chunk);
        return ChildProcess.Serve(string.Create(c, $"ready after {passes} warm-up passes in {clock.Elapsed.TotalSeconds:F1} s"), words =>
        {
            if (words.Length != 2 || words[0] != "pass")
                throw new InvalidOperationException($"unknown command '{string.Join(' ', words)}'");
            var wanted = TimeSpan.FromSeconds(double.Parse(words[1], c));
            var timer = Stopwatch.StartNew();
            long done = 0;
            while (done == 0 || timer.Elapsed < wanted)
                done += nopCase.Run(chunk);
            var seconds = timer.Elapsed.TotalSeconds;
            return string.Create(c, $"ops={done} seconds={seconds:R} alloc={perOp:R}");
        });
    }

    /// <summary>The ratios the targets are stated in besides those to C: each case over the one
    /// it builds on, per round (median and range).</summary>
    private static readonly (NopCase Case, NopCase Over)[] Pairs = [(NopCase.Batch, NopCase.Raw), (NopCase.Await, NopCase.Floor)];

    public static List<Measurement> Run(IReadOnlyList<int> batches, double passSeconds, int rounds, double minimumWarmup, Func<string, bool> wanted, List<string> notes)
    {
        var c = CultureInfo.InvariantCulture;
        var cNop = wanted(CName) ? External.BuildCNop() : null;
        var rows = new List<Measurement>();
        foreach (var batch in batches)
        {
            var group = $"NOP, batch {batch}";
            var kinds = Enum.GetValues<NopCase>().Where(k => wanted(Name(k, batch))).ToList();
            var children = new Dictionary<NopCase, ChildProcess>();
            try
            {
                foreach (var kind in kinds)
                {
                    children[kind] = new ChildProcess(ChildCommand, kind.ToString(), batch.ToString(c), minimumWarmup.ToString("R", c));
                    Console.Error.WriteLine($"  started {Name(kind, batch)}: {children[kind].Ready}");
                }
                var names = (cNop is null ? [] : new[] { CName }).Concat(kinds.Select(k => Name(k, batch))).ToList();
                var passes = names.ToDictionary(n => n, _ => new List<Measurement>());
                // C's pass is a number of operations: as many as it ran in passSeconds last time.
                long cOps = Math.Max(batch, 100_000 / batch * batch);
                for (var round = 1; round <= rounds; round++)
                {
                    if (cNop is not null)
                    {
                        var probe = round == 1 ? External.CNop(cNop, batch, cOps) : passes[CName][^1];
                        cOps = Math.Max(batch, (long)(probe.OpsPerSecond * passSeconds) / batch * batch);
                        passes[CName].Add(External.CNop(cNop, batch, cOps));
                    }
                    foreach (var kind in kinds)
                    {
                        var fields = children[kind].Request(string.Create(c, $"pass {passSeconds:R}"))
                            .Split(' ').Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1]);
                        passes[Name(kind, batch)].Add(new Measurement(group, Name(kind, batch), long.Parse(fields["ops"], c),
                            double.Parse(fields["seconds"], c), double.Parse(fields["alloc"], c)));
                    }
                    Console.Error.WriteLine(string.Create(c, $"  {group}, round {round} of {rounds}: ") +
                        string.Join(", ", names.Select(n => string.Create(c, $"{passes[n][^1].NanosecondsPerOp:F1}"))) + " ns/op");
                }
                foreach (var child in children.Values)
                    child.Finish();
                foreach (var (mine, over) in Pairs)
                {
                    if (!kinds.Contains(mine) || !kinds.Contains(over))
                        continue;
                    var ratios = passes[Name(mine, batch)].Select((p, i) => p.OpsPerSecond / passes[Name(over, batch)][i].OpsPerSecond).Order().ToList();
                    notes.Add(string.Create(c, $"{group}: {Name(mine, batch)} / {Name(over, batch)} = {ratios[ratios.Count / 2]:F2} ({ratios[0]:F2}–{ratios[^1]:F2}), per round"));
                }
                var baseline = passes[names[0]];
                foreach (var name in names)
                {
                    var mine = passes[name];
                    var median = mine.OrderBy(p => p.NanosecondsPerOp).ElementAt(mine.Count / 2);
                    var ratios = mine.Select((p, i) => p.OpsPerSecond / baseline[i].OpsPerSecond).Order().ToList();
                    var worstAlloc = mine.Max(p => p.BytesAllocatedPerOp);
                    rows.Add(median with
                    {
                        BytesAllocatedPerOp = worstAlloc,
                        Ratio = name == names[0] ? null : ratios[ratios.Count / 2],
                        RatioLow = ratios[0],
                        RatioHigh = ratios[^1],
                    });
                }
            }
            finally
            {
                foreach (var child in children.Values)
                    child.Dispose();
            }
        }
        return rows;
    }
}
