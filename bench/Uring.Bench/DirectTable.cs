using System.Globalization;
using System.Text;

namespace Uring.Bench;

/// <summary>The O_DIRECT results as a Markdown table (ready for the README), then the project's
/// targets at queue depth 32 with a verdict, and the other like-for-like ratios.</summary>
internal static class DirectTable
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <summary>Façade CPU per read must be at most this fraction of the thread-pool path's…</summary>
    public const double CpuTarget = 0.5;

    /// <summary>…at equal or higher IOPS: "equal" allows this much less (run-to-run spread of the disk).</summary>
    public const double EqualIopsTolerance = 0.03;

    public const double IopsTarget = 0.95;
    public const int TargetQueueDepth = 32;

    public static string Format(IReadOnlyList<DirectRow> rows)
    {
        var text = new StringBuilder();
        text.Append("| QD | case | IOPS (min–max) | IOPS ÷ fio io_uring | CPU µs/read | CPU/read ÷ façade `Ring.Read` | cores busy | B alloc/read |\n");
        text.Append("|---:|---|---:|---:|---:|---:|---:|---:|\n");
        foreach (var group in rows.GroupBy(r => r.QueueDepth))
        {
            var fio = group.FirstOrDefault(r => r.Case == DirectCase.FioIoUring);
            var facade = group.FirstOrDefault(r => r.Case == DirectCase.Facade);
            foreach (var row in group)
            {
                var iopsRatio = fio is null ? "n/a" : ReferenceEquals(row, fio) ? "1.00" : (row.Iops / fio.Iops).ToString("F2", C);
                var cpuRatio = facade is null ? "n/a" : ReferenceEquals(row, facade) ? "1.00" : (row.CpuMicrosecondsPerRead / facade.CpuMicrosecondsPerRead).ToString("F2", C);
                var alloc = row.BytesAllocatedPerRead is { } b ? b.ToString("F2", C) : "n/a";
                var range = row.Passes.Count > 1 ? $" ({Range(row.MinIops, row.MaxIops)})" : "";
                text.Append(C, $"| {row.QueueDepth} | {row.Name} | {row.Iops:N0}{range} | {iopsRatio} | {row.CpuMicrosecondsPerRead:F2} | {cpuRatio} | {row.CoresBusy:F2} | {alloc} |\n");
            }
        }
        return text.ToString();
    }

    /// <summary>Verdicts on the targets, the like-for-like ratios, and where SQPOLL's CPU went.</summary>
    public static string Notes(IReadOnlyList<DirectRow> rows)
    {
        var text = new StringBuilder();
        DirectRow? Find(int qd, DirectCase kind) => rows.FirstOrDefault(r => r.QueueDepth == qd && r.Case == kind);

        var facade = Find(TargetQueueDepth, DirectCase.Facade);
        var fio = Find(TargetQueueDepth, DirectCase.FioIoUring);
        if (facade is not null && fio is not null)
        {
            var ratio = facade.Iops / fio.Iops;
            text.Append(C, $"- Target, QD {TargetQueueDepth}: façade IOPS ≥ {IopsTarget:F2}× fio io_uring — {ratio:F2}×: **{(ratio >= IopsTarget ? "met" : "not met")}**.\n");
            foreach (var kind in new[] { DirectCase.ThreadPool, DirectCase.ThreadPoolMinThreads })
            {
                if (Find(TargetQueueDepth, kind) is not { } pool)
                    continue;
                var cpu = facade.CpuMicrosecondsPerRead / pool.CpuMicrosecondsPerRead;
                var iops = facade.Iops / pool.Iops;
                var met = cpu <= CpuTarget && iops >= 1 - EqualIopsTolerance;
                text.Append(C, $"- Target, QD {TargetQueueDepth}: façade CPU/read ≤ {CpuTarget:F1}× {pool.Name}'s at equal or higher IOPS — ");
                text.Append(C, $"{cpu:F2}× the CPU at {iops:F2}× the IOPS: **{(met ? "met" : "not met")}**.\n");
            }
        }

        foreach (var qd in rows.Select(r => r.QueueDepth).Distinct())
        {
            var parts = new List<string>();
            void Compare(DirectCase ours, DirectCase theirs, string label)
            {
                if (Find(qd, ours) is { } a && Find(qd, theirs) is { } b)
                    parts.Add(string.Create(C, $"{label} {a.Iops / b.Iops:F2}× IOPS, {a.CpuMicrosecondsPerRead / b.CpuMicrosecondsPerRead:F2}× CPU/read"));
            }
            Compare(DirectCase.Facade, DirectCase.FioIoUring, "façade ÷ fio io_uring:");
            Compare(DirectCase.FacadeFixed, DirectCase.FioFixed, "façade fixed ÷ fio fixed:");
            Compare(DirectCase.FacadeSqPoll, DirectCase.FioSqPoll, "façade SQPOLL ÷ fio SQPOLL:");
            if (parts.Count > 0)
                text.Append(C, $"- QD {qd}: {string.Join("; ", parts)}.\n");
        }

        var facades = rows.Where(r => r.RingEntersPerRead is not null).ToList();
        if (facades.Count > 0)
            text.Append("- Façade calls that may enter the kernel (submit, submit-and-get-events, wait), per read: ")
                .Append(string.Join("; ", facades.Select(r => string.Create(C, $"QD {r.QueueDepth} {ShortName(r)} {r.RingEntersPerRead:F2}"))))
                .Append(".\n");
        var fios = rows.Where(r => r.OwnCpuMicrosecondsPerRead is not null).ToList();
        if (fios.Count > 0)
            text.Append("- fio's own CPU figure (usr + sys of its job thread, RUSAGE_THREAD), µs/read: ")
                .Append(string.Join("; ", fios.Select(r => string.Create(C, $"QD {r.QueueDepth} {ShortName(r)} {r.OwnCpuMicrosecondsPerRead:F2}"))))
                .Append(".\n");

        var sqpoll = rows.Where(r => r.Case is DirectCase.FacadeSqPoll or DirectCase.FioSqPoll).ToList();
        if (sqpoll.Count > 0)
        {
            text.Append("- SQPOLL CPU (counted in the rows above): ");
            text.Append(string.Join("; ", sqpoll.Select(r => r.Case == DirectCase.FacadeSqPoll
                ? string.Create(C, $"QD {r.QueueDepth} façade: the iou-sqp thread {r.KernelThreadMicrosecondsPerRead:F2} of {r.CpuMicrosecondsPerRead:F2} µs/read")
                : string.Create(C, $"QD {r.QueueDepth} fio: {r.CpuMicrosecondsPerRead:F2} µs/read for the job process, {r.OwnCpuMicrosecondsPerRead:F2} in fio's own job-thread figure"))));
            text.Append(".\n");
        }
        return text.ToString();
    }

    /// <summary>"31–37 K", "2.1–4.0 K" or "45–116": the unit and precision of the larger end.</summary>
    private static string Range(double min, double max) => max switch
    {
        >= 10_000 => string.Create(C, $"{min / 1000:F0}–{max / 1000:F0} K"),
        >= 1_000 => string.Create(C, $"{min / 1000:F1}–{max / 1000:F1} K"),
        _ => string.Create(C, $"{min:F0}–{max:F0}"),
    };

    private static string ShortName(DirectRow row) => row.Case switch
    {
        DirectCase.Facade or DirectCase.FioIoUring => "plain",
        DirectCase.FacadeFixed or DirectCase.FioFixed => "fixed",
        DirectCase.FacadeSqPoll or DirectCase.FioSqPoll => "SQPOLL",
        DirectCase.FioLibaio => "libaio",
        _ => row.Case.ToString(),
    };
}
