namespace Uring.Bench;

/// <summary>One row of the results table.</summary>
internal sealed record Measurement(string Group, string Name, long Operations, double Seconds, double? BytesAllocatedPerOp)
{
    public double OpsPerSecond => Operations / Seconds;
    public double NanosecondsPerOp => Seconds * 1e9 / Operations;
}
