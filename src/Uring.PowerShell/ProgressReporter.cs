using System.Management.Automation;

namespace Uring.PowerShell;

/// <summary>Write-Progress for a byte count: a record each time the percentage changes, and a
/// completion record at the end if any was written.</summary>
internal sealed class ProgressReporter(Cmdlet cmdlet, int activityId, string activity, string status, long total)
{
    private int _lastPercent = -1;

    public void Report(long done)
    {
        if (total <= 0)
            return;
        var percent = (int)Math.Clamp(done * 100 / total, 0, 100);
        if (percent == _lastPercent)
            return;
        _lastPercent = percent;
        // A new record each time: hosts and Streams.Progress keep the object they were given.
        cmdlet.WriteProgress(new ProgressRecord(activityId, activity, status)
        {
            PercentComplete = percent,
            CurrentOperation = $"{done:N0} of {total:N0} bytes",
        });
    }

    public void Complete()
    {
        if (_lastPercent < 0)
            return;
        cmdlet.WriteProgress(new ProgressRecord(activityId, activity, status)
        {
            PercentComplete = 100,
            RecordType = ProgressRecordType.Completed,
        });
    }
}
