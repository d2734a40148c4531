namespace Uring.Bench;

/// <summary>One row of the results table. <see cref="Ratio"/>, when set, is the row's ratio to its
/// group's baseline measured pass by pass (see <see cref="NopGroup"/>), with its range.</summary>
internal sealed record Measurement(string Group, string Name, long Operations, double Seconds, double? BytesAllocatedPerOp)
{
    public double OpsPerSecond => Operations / Seconds;
    public double NanosecondsPerOp => Seconds * 1e9 / Operations;
    public double? Ratio { get; init; }
    public double RatioLow { get; init; }
    public double RatioHigh { get; init; }
}
