using System.Diagnostics;
using System.Globalization;

namespace Uring.Bench;

/// <summary>The O_DIRECT read cases: fio's engines (separate processes) and the in-process .NET
/// loops (<see cref="DirectReadCase"/>, each in a process of its own).</summary>
internal enum DirectCase
{
    FioIoUring,
    FioLibaio,
    FioFixed,
    FioSqPoll,
    Facade,
    FacadeFixed,
    FacadeSqPoll,
    ThreadPool,
    ThreadPoolMinThreads,
}

/// <summary>One timed pass of one case. <see cref="CpuSeconds"/> is the user + system time of
/// the process doing the reads over the timed part (every thread, io_uring's kernel threads
/// included); <see cref="KernelThreadSeconds"/> is the share of io_uring's kernel threads in it;
/// <see cref="OwnCpuSeconds"/> is fio's own figure (its job thread alone); <see cref="RingEnters"/>
/// counts the façade's calls into liburing that may enter the kernel.</summary>
internal sealed record DirectPass(long Reads, double Seconds, double CpuSeconds, double? KernelThreadSeconds,
    double? OwnCpuSeconds, double? BytesAllocated, long? RingEnters, string Detail)
{
    public double Iops => Reads / Seconds;
    public double CpuMicrosecondsPerRead => CpuSeconds * 1e6 / Reads;
}

/// <summary>One row of the O_DIRECT table: the median over its passes (one per round) of each
/// figure, taken separately.</summary>
internal sealed record DirectRow(int QueueDepth, DirectCase Case, IReadOnlyList<DirectPass> Passes)
{
    public double Iops => Median(Passes.Select(p => p.Iops));
    public double MinIops => Passes.Min(p => p.Iops);
    public double MaxIops => Passes.Max(p => p.Iops);
    public double CpuMicrosecondsPerRead => Median(Passes.Select(p => p.CpuMicrosecondsPerRead));
    public double CoresBusy => Median(Passes.Select(p => p.CpuSeconds / p.Seconds));
    public double? BytesAllocatedPerRead => Passes[0].BytesAllocated is null ? null : Median(Passes.Select(p => p.BytesAllocated!.Value / p.Reads));
    public double? KernelThreadMicrosecondsPerRead => Passes[0].KernelThreadSeconds is null ? null : Median(Passes.Select(p => p.KernelThreadSeconds!.Value * 1e6 / p.Reads));
    public double? RingEntersPerRead => Passes[0].RingEnters is null ? null : Median(Passes.Select(p => (double)p.RingEnters!.Value / p.Reads));
    public double? OwnCpuMicrosecondsPerRead => Passes[0].OwnCpuSeconds is null ? null : Median(Passes.Select(p => p.OwnCpuSeconds!.Value * 1e6 / p.Reads));

    public bool IsFio => Case is DirectCase.FioIoUring or DirectCase.FioLibaio or DirectCase.FioFixed or DirectCase.FioSqPoll;

    public string Name => Case switch
    {
        DirectCase.FioIoUring => "fio io_uring",
        DirectCase.FioLibaio => "fio libaio",
        DirectCase.FioFixed => "fio io_uring --fixedbufs --registerfiles",
        DirectCase.FioSqPoll => "fio io_uring --sqthread_poll",
        DirectCase.Facade => "façade `Ring.Read`",
        DirectCase.FacadeFixed => "façade `Ring.ReadFixed` (registered buffers + file)",
        DirectCase.FacadeSqPoll => "façade `Ring.Read`, SQPOLL ring",
        DirectCase.ThreadPool => "`RandomAccess.ReadAsync`, default thread pool",
        DirectCase.ThreadPoolMinThreads => "`RandomAccess.ReadAsync`, min threads = QD",
        _ => Case.ToString(),
    };

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

/// <summary>Settings of one O_DIRECT run.</summary>
/// <param name="Seconds">timed length of each pass</param>
/// <param name="Ramp">untimed reading before each pass</param>
/// <param name="Rounds">passes per case; the rounds go through every case in turn</param>
/// <param name="MinimumWarmup">least warm-up of each in-process case before its first pass</param>
internal sealed record DirectSettings(double Seconds, double Ramp, int Rounds, double MinimumWarmup);

internal static class DirectReads
{
    public static readonly int[] QueueDepths = [1, 32, 128];

    /// <summary>The cases run at one queue depth, in table order. The thread pool's own minimum
    /// is the core count, so "min threads = QD" is a different configuration only above it.</summary>
    public static IEnumerable<DirectCase> CasesAt(int queueDepth)
    {
        yield return DirectCase.FioIoUring;
        yield return DirectCase.Facade;
        yield return DirectCase.FioLibaio;
        yield return DirectCase.ThreadPool;
        if (queueDepth > Environment.ProcessorCount)
            yield return DirectCase.ThreadPoolMinThreads;
        yield return DirectCase.FioFixed;
        yield return DirectCase.FacadeFixed;
        yield return DirectCase.FioSqPoll;
        yield return DirectCase.FacadeSqPoll;
    }

    /// <summary>Starts (and warms up) the in-process cases, each kind of façade ring in a process of
    /// its own that serves every queue depth (same ring, same code: one warm-up), each thread-pool
    /// case in a process of its own per queue depth (the pool's size is state that passes at another
    /// depth would leave behind). Then runs
    /// <see cref="DirectSettings.Rounds"/> rounds, each a pass of every case in table order, so
    /// that a burst of load from elsewhere hits one pass of many cases rather than every pass of
    /// one; each row reports medians.</summary>
    public static List<DirectRow> Run(string file, DirectSettings settings)
    {
        var cases = QueueDepths.SelectMany(qd => CasesAt(qd).Select(kind => (QueueDepth: qd, Kind: kind))).ToList();
        var passes = cases.ToDictionary(c => c, _ => new List<DirectPass>());
        var children = new Dictionary<(int, DirectCase), CaseProcess>();
        var clock = Stopwatch.StartNew();
        (int, DirectCase) ChildOf(int qd, DirectCase kind) => kind is DirectCase.ThreadPool or DirectCase.ThreadPoolMinThreads ? (qd, kind) : (0, kind);
        try
        {
            foreach (var (qd, kind) in cases)
            {
                if (IsFio(kind) || children.ContainsKey(ChildOf(qd, kind)))
                    continue;
                var capacity = ChildOf(qd, kind).Item1 == 0 ? QueueDepths.Max() : qd;
                var child = new CaseProcess(file, kind, capacity, settings.MinimumWarmup);
                children[ChildOf(qd, kind)] = child;
                Console.Error.WriteLine($"  started {kind} for {(capacity == qd ? $"QD {qd}" : "every QD")}: {child.Ready}");
            }
            for (var round = 1; round <= settings.Rounds; round++)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"uring-bench: O_DIRECT round {round} of {settings.Rounds} at {clock.Elapsed.TotalSeconds:F0} s, load average {External.LoadAverage()}"));
                foreach (var (qd, kind) in cases)
                {
                    var pass = IsFio(kind)
                        ? External.FioDirect(file, kind, qd, settings.Seconds, settings.Ramp)
                        : children[ChildOf(qd, kind)].Pass(qd, settings.Seconds, settings.Ramp);
                    passes[(qd, kind)].Add(pass);
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  QD {qd,3} {kind}: {pass.Iops:N0} IOPS, {pass.CpuMicrosecondsPerRead:F2} µs CPU/read ({pass.Detail})"));
                }
            }
            foreach (var child in children.Values)
                child.Finish();
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"uring-bench: O_DIRECT group took {clock.Elapsed.TotalSeconds:F0} s"));
        }
        finally
        {
            foreach (var child in children.Values)
                child.Dispose();
        }
        return [.. cases.Select(c => new DirectRow(c.QueueDepth, c.Kind, passes[c]))];
    }

    private static bool IsFio(DirectCase kind) => kind is DirectCase.FioIoUring or DirectCase.FioLibaio or DirectCase.FioFixed or DirectCase.FioSqPoll;

    /// <summary>One in-process case in its own <see cref="ChildProcess"/>: it warms up and says
    /// "ready", then answers each "pass QD SECONDS RAMP" with one line of figures. A failed pass (a
    /// short or wrong read, an exception) ends the child with an error, and the whole benchmark with it.</summary>
    private sealed class CaseProcess(string file, DirectCase kind, int capacity, double minimumWarmup) : IDisposable
    {
        private readonly ChildProcess _child = new(ChildCommand, kind.ToString(), capacity.ToString(CultureInfo.InvariantCulture), file,
            minimumWarmup.ToString("R", CultureInfo.InvariantCulture));

        public string Ready => _child.Ready;

        public DirectPass Pass(int queueDepth, double seconds, double ramp)
        {
            var c = CultureInfo.InvariantCulture;
            var fields = _child.Request(string.Create(c, $"pass {queueDepth} {seconds:R} {ramp:R}"))
                .Split(' ').Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1]);
            double Number(string key) => double.Parse(fields[key], c);
            long? enters = fields["enters"] == "n/a" ? null : long.Parse(fields["enters"], c);
            return new DirectPass(long.Parse(fields["reads"], c), Number("seconds"), Number("user") + Number("system"),
                Number("kthreads"), null, Number("alloc"), enters, string.Create(c,
                $"user {Number("user"):F2} s, sys {Number("system"):F2} s, io_uring kernel threads {Number("kthreads"):F2} s, {EntersPerRead(fields["enters"], fields["reads"])}methods jitted {fields["jitted"]}, threads {fields["threads"]}"));
        }

        private static string EntersPerRead(string enters, string reads) =>
            enters == "n/a" ? "" : string.Create(CultureInfo.InvariantCulture, $"{double.Parse(enters, CultureInfo.InvariantCulture) / double.Parse(reads, CultureInfo.InvariantCulture):F2} ring enters/read, ");

        public void Finish() => _child.Finish();

        public void Dispose() => _child.Dispose();
    }

    public const string ChildCommand = "direct-read-case";

    /// <summary>The child's side: <c>direct-read-case KIND CAPACITY FILE MINIMUM-WARMUP</c>, then
    /// "pass QD SECONDS RAMP" lines on stdin until "exit".</summary>
    public static int ChildMain(string[] args)
    {
        var c = CultureInfo.InvariantCulture;
        var kind = Enum.Parse<DirectCase>(args[1]);
        using var readCase = DirectReadCase.Create(kind, args[3], int.Parse(args[2], c));
        var warmup = readCase.WarmUp(TimeSpan.FromSeconds(double.Parse(args[4], c)));
        return ChildProcess.Serve(string.Create(c, $"ready after {warmup:F1} s of warm-up"), words =>
        {
            if (words.Length != 4 || words[0] != "pass")
                throw new InvalidOperationException($"unknown command '{string.Join(' ', words)}'");
            return readCase.Pass(int.Parse(words[1], c), TimeSpan.FromSeconds(double.Parse(words[2], c)), TimeSpan.FromSeconds(double.Parse(words[3], c)));
        });
    }
}
