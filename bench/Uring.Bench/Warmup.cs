using System.Diagnostics;

namespace Uring.Bench;

/// <summary>Warm-up before a timed pass: repeated until the JIT has had time to reach its
/// optimised tier (about a second of running), so the timed pass measures steady state rather
/// than tier-0 code.</summary>
internal static class Warmup
{
    private static readonly TimeSpan MinimumTime = TimeSpan.FromSeconds(1);
    private const int MaximumPasses = 8;

    public static void Run(Action pass)
    {
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < MaximumPasses && (i == 0 || clock.Elapsed < MinimumTime); i++)
            pass();
    }

    public static async Task RunAsync(Func<Task> pass)
    {
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < MaximumPasses && (i == 0 || clock.Elapsed < MinimumTime); i++)
            await pass();
    }
}
