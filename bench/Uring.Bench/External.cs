using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Uring.Bench;

/// <summary>Baselines that run as separate processes: the C NOP loop (compiled now against the
/// pinned liburing) and fio's io_uring engine.</summary>
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
}
