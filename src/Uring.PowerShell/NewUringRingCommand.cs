using System.Management.Automation;

namespace Uring.PowerShell;

/// <summary><c>New-UringRing</c>: an io_uring with its own loop thread. Dispose it when done.</summary>
[Cmdlet(VerbsCommon.New, "UringRing")]
[OutputType(typeof(Ring))]
public sealed class NewUringRingCommand : PSCmdlet
{
    /// <summary>Submission queue size (the kernel rounds up to a power of two).</summary>
    [Parameter(Position = 0)]
    [ValidateRange(1, 32768)]
    public uint Entries { get; set; } = 256;

    /// <summary>Let a kernel thread poll the submission queue (IORING_SETUP_SQPOLL).</summary>
    [Parameter]
    public SwitchParameter SqPoll { get; set; }

    /// <summary>How long Dispose waits for the kernel to finish cancelled operations (seconds or a TimeSpan; default 5 s).</summary>
    [Parameter]
    [TimeoutTransformation]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Creates the ring.</summary>
    protected override void ProcessRecord()
    {
        try
        {
            WriteObject(new Ring(new RingOptions { Entries = Entries, SqPoll = SqPoll, ShutdownTimeout = ShutdownTimeout }));
        }
        catch (Exception e)
        {
            WriteError(UringErrors.Create(e, null, "Cannot create an io_uring"));
        }
    }
}
