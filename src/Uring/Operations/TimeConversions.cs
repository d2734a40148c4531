using System.Diagnostics;

namespace Uring;

/// <summary>Time arguments as the (seconds, nanoseconds) of a __kernel_timespec.</summary>
internal static class TimeConversions
{
    /// <summary>A relative time: not negative.</summary>
    internal static (long Seconds, long Nanoseconds) Relative(TimeSpan delay, string name)
    {
        if (delay < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(name, delay, "A timeout cannot be negative.");
        var ticks = delay.Ticks;
        return (ticks / TimeSpan.TicksPerSecond, ticks % TimeSpan.TicksPerSecond * 100);
    }

    /// <summary>CLOCK_REALTIME: the deadline as time since the Unix epoch.</summary>
    internal static (long Seconds, long Nanoseconds) WallClock(DateTimeOffset deadline, string name)
    {
        var ticks = deadline.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        if (ticks < 0)
            throw new ArgumentOutOfRangeException(name, deadline, "The deadline is before 1970.");
        return (ticks / TimeSpan.TicksPerSecond, ticks % TimeSpan.TicksPerSecond * 100);
    }

    /// <summary>CLOCK_MONOTONIC: a <see cref="Stopwatch.GetTimestamp"/> value (the same clock on Linux).</summary>
    internal static (long Seconds, long Nanoseconds) Monotonic(long stopwatchTimestamp, string name)
    {
        if (stopwatchTimestamp < 0)
            throw new ArgumentOutOfRangeException(name, stopwatchTimestamp, "A timestamp cannot be negative.");
        var ns = (long)((decimal)stopwatchTimestamp * 1_000_000_000m / Stopwatch.Frequency);
        return (ns / 1_000_000_000, ns % 1_000_000_000);
    }
}
