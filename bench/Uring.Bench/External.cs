using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Uring.Bench;

/// <summary>Baselines that run as separate processes: the C NOP loop (compiled now against the
/// pinned liburing) and fio.</summary>
internal static class External
{
    public static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "liburing-headers/pins.txt")))
                return dir.FullName;
        throw new InvalidOperationException("run the benchmark from inside the repository (bench/run.sh)");
    }

    public static string Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {stderr.Result}");
        return stdout.Result;
    }

    /// <summary>Compiles bench/native/nop_bench.c with gcc -O2 against the pinned headers and
    /// static liburing.</summary>
    public static string BuildCNop()
    {
        var sysroot = Run("bash", Path.Combine(RepoRoot, "liburing-headers/fetch.sh")).Trim().Split('\n')[^1];
        var output = Path.Combine(Path.GetTempPath(), "uring-nop-bench");
        Run("gcc", "-O2", "-D_GNU_SOURCE", "-isystem", Path.Combine(sysroot, "usr/include"),
            Path.Combine(RepoRoot, "bench/native/nop_bench.c"),
            Path.Combine(sysroot, "usr/lib/x86_64-linux-gnu/liburing.a"), "-o", output);
        return output;
    }

    public static Measurement CNop(string binary, int batch, long total)
    {
        // "c-nop batch=32 ops=10000000 seconds=0.123"
        var fields = Run(binary, batch.ToString(CultureInfo.InvariantCulture), total.ToString(CultureInfo.InvariantCulture))
            .Trim().Split(' ').Skip(1).Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1]);
        return new Measurement($"NOP, batch {batch}", "C liburing (gcc -O2)",
            long.Parse(fields["ops"], CultureInfo.InvariantCulture), double.Parse(fields["seconds"], CultureInfo.InvariantCulture), null);
    }

    /// <summary>fio 4 KiB random reads through its io_uring engine, page cache kept
    /// (--invalidate=0), one job, the given queue depth.</summary>
    public static Measurement Fio(string file, int queueDepth, double seconds)
    {
        var json = Run("fio", "--name=randread", $"--filename={file}", "--rw=randread", "--bs=4k",
            $"--iodepth={queueDepth}", "--ioengine=io_uring", "--invalidate=0", "--numjobs=1", "--time_based",
            $"--runtime={seconds.ToString(CultureInfo.InvariantCulture)}s", "--ramp_time=1s", "--output-format=json");
        using var document = JsonDocument.Parse(json[json.IndexOf('{')..]);
        var read = document.RootElement.GetProperty("jobs")[0].GetProperty("read");
        var ios = read.GetProperty("total_ios").GetInt64();
        var runtimeMs = read.GetProperty("runtime").GetDouble();
        return new Measurement($"4 KiB random read, QD {queueDepth}", "fio io_uring engine", ios, runtimeMs / 1000, null);
    }

    /// <summary>The 1, 5 and 15 minute load averages, as /proc/loadavg gives them.</summary>
    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    /// <summary>
    /// One fio pass of 4 KiB random reads with O_DIRECT: one job, the given engine and queue
    /// depth, <paramref name="ramp"/> seconds of ramp (not counted by fio) and then
    /// <paramref name="seconds"/> timed. IOPS are fio's.
    /// <para>CPU: fio's own usr/sys figures come from getrusage(RUSAGE_THREAD) in its job thread,
    /// which leaves out the SQPOLL kernel thread (and any io-wq worker), and the process tree's
    /// getrusage would add fio's start-up (~0.25 s of loading libraries and setting up, whatever
    /// the run's length). So the harness samples the job process itself — the sum of
    /// /proc/PID/task/*/schedstat over its threads, the SQPOLL thread included — every 50 ms,
    /// and takes its CPU rate over the samples after the ramp; CPU per read is that rate divided
    /// by fio's IOPS. fio's own figure is kept for comparison.</para>
    /// </summary>
    public static DirectPass FioDirect(string file, DirectCase kind, int queueDepth, double seconds, double ramp)
    {
        var arguments = new List<string>
        {
            "--name=direct", $"--filename={file}", "--readonly", "--rw=randread", "--bs=4k", "--direct=1",
            "--invalidate=0", $"--iodepth={queueDepth}", "--numjobs=1", "--time_based",
            $"--ramp_time={(int)Math.Round(ramp * 1000)}ms", $"--runtime={(int)Math.Round(seconds * 1000)}ms",
            "--norandommap", "--randrepeat=0", "--disk_util=0", "--output-format=json",
        };
        arguments.AddRange(kind switch
        {
            DirectCase.FioIoUring => ["--ioengine=io_uring"],
            DirectCase.FioLibaio => ["--ioengine=libaio"],
            DirectCase.FioFixed => ["--ioengine=io_uring", "--fixedbufs", "--registerfiles"],
            DirectCase.FioSqPoll => ["--ioengine=io_uring", "--sqthread_poll=1"],
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a fio case"),
        });
        var commandLine = $"fio {string.Join(' ', arguments)}";

        var start = new ProcessStartInfo("fio", arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start fio");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var samples = new List<(double Time, double Cpu)>();
        var clock = Stopwatch.StartNew();
        double jobSeen = -1;
        while (!process.WaitForExit(50))
        {
            if (JobProcessCpu(process.Id) is not { } cpu)
                continue;
            var now = clock.Elapsed.TotalSeconds;
            if (jobSeen < 0)
                jobSeen = now;
            if (now - jobSeen >= ramp + 0.05)
                samples.Add((now, cpu));
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{commandLine} failed ({process.ExitCode}): {stderr.Result}");
        var json = stdout.Result;
        using var document = JsonDocument.Parse(json[json.IndexOf('{')..]);
        var job = document.RootElement.GetProperty("jobs")[0];
        if (job.GetProperty("error").GetInt32() != 0)
            throw new InvalidOperationException($"{commandLine} reported error {job.GetProperty("error").GetInt32()}");
        var read = job.GetProperty("read");
        var ios = read.GetProperty("total_ios").GetInt64();
        var runtime = read.GetProperty("runtime").GetDouble() / 1000;
        if (ios <= 0 || runtime <= 0)
            throw new InvalidOperationException($"{commandLine} did no reads");
        // The last sample may have been taken while fio was already tearing down: drop it.
        if (samples.Count > 3)
            samples.RemoveAt(samples.Count - 1);
        if (samples.Count < 2 || samples[^1].Time - samples[0].Time < seconds / 3)
            throw new InvalidOperationException($"{commandLine}: too few CPU samples of the job process ({samples.Count})");
        var rate = (samples[^1].Cpu - samples[0].Cpu) / (samples[^1].Time - samples[0].Time);
        var own = (job.GetProperty("usr_cpu").GetDouble() + job.GetProperty("sys_cpu").GetDouble()) / 100 * job.GetProperty("job_runtime").GetDouble() / 1000;
        return new DirectPass(ios, runtime, rate * runtime, null, own, null, null, string.Create(CultureInfo.InvariantCulture,
            $"job process {rate:F2} cores over {samples[^1].Time - samples[0].Time:F2} s; fio's own job-thread figure {own * 1e6 / ios:F2} µs/read"));
    }

    /// <summary>CPU seconds used so far by the threads of fio's job process (the one child of the
    /// fio process), or null before it exists.</summary>
    private static double? JobProcessCpu(int fioPid)
    {
        try
        {
            var children = File.ReadAllText($"/proc/{fioPid}/task/{fioPid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (children.Length != 1)
                return null;
            double total = 0;
            foreach (var task in Directory.EnumerateDirectories($"/proc/{children[0]}/task"))
            {
                var schedstat = File.ReadAllText(Path.Combine(task, "schedstat"));
                total += long.Parse(schedstat.AsSpan(0, schedstat.IndexOf(' ')), CultureInfo.InvariantCulture) / 1e9;
            }
            return total;
        }
        catch (IOException)
        {
            return null; // fio is starting or ending
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
