using System.Globalization;
using System.Management.Automation;

namespace Uring.PowerShell;

/// <summary>
/// Lets a time parameter take a number of seconds (<c>-Timeout 0.5</c>), as the built-in
/// Wait-* commands do, as well as a <see cref="TimeSpan"/> or a string such as
/// <c>'00:00:02'</c>. PowerShell's own conversion would read a bare number as ticks.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class TimeoutTransformationAttribute : ArgumentTransformationAttribute
{
    /// <summary>Converts the argument.</summary>
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var value = inputData is PSObject ps ? ps.BaseObject : inputData;
        switch (value)
        {
            case TimeSpan span:
                return Check(span);
            case sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal:
                var seconds = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                if (double.IsNaN(seconds) || seconds < 0 || seconds > int.MaxValue / 1000.0)
                    throw new ArgumentTransformationMetadataException($"A timeout of {seconds} seconds is out of range (0 to {int.MaxValue / 1000} seconds).");
                return TimeSpan.FromSeconds(seconds);
            case string text when TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var parsed):
                return Check(parsed);
            case string text when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var secondsText):
                return Transform(engineIntrinsics, secondsText);
            default:
                throw new ArgumentTransformationMetadataException($"'{value}' is not a timeout: give seconds (a number) or a TimeSpan.");
        }
    }

    private static TimeSpan Check(TimeSpan span) =>
        span < TimeSpan.Zero || span.TotalMilliseconds > int.MaxValue
            ? throw new ArgumentTransformationMetadataException($"A timeout of {span} is out of range (0 to {TimeSpan.FromMilliseconds(int.MaxValue)}).")
            : span;
}
