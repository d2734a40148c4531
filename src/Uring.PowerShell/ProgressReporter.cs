using System.Management.Automation;

namespace Uring.PowerShell;

/// <summary>Write-Progress for a byte count: a record each time the percentage changes, and a
/// completion record at the end if any was written.</summary>
internal sealed class ProgressReporter
{
    private readonly Cmdlet _cmdlet;
    private readonly ProgressRecord _record;
    private readonly long _total;
    private int _lastPercent = -1;

    public ProgressReporter(Cmdlet cmdlet, int activityId, string activity, string status, long total)
    {
        _cmdlet = cmdlet;
        _total = total;
        _record = new ProgressRecord(activityId, activity, status);
    }

    public void Report(long done)
    {
        if (_total <= 0)
            return;
        var percent = (int)Math.Clamp(done * 100 / _total, 0, 100);
        if (percent == _lastPercent)
            return;
        _lastPercent = percent;
        _record.PercentComplete = percent;
        _record.CurrentOperation = $"{done:N0} of {_total:N0} bytes";
        _cmdlet.WriteProgress(_record);
    }

    public void Complete()
    {
        if (_lastPercent < 0)
            return;
        _record.RecordType = ProgressRecordType.Completed;
        _record.PercentComplete = 100;
        _cmdlet.WriteProgress(_record);
    }
}
