using System.Management.Automation;

namespace Uring.PowerShell;

/// <summary>
/// <c>Stop-UringFuture</c>: asks the kernel to cancel operations (IORING_OP_ASYNC_CANCEL) and
/// writes its answer for each. The future itself then ends cancelled, unless the operation
/// completed first.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "UringFuture", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(CancelOutcome))]
public sealed class StopUringFutureCommand : PSCmdlet
{
    private static readonly TimeSpan s_slice = TimeSpan.FromMilliseconds(100);

    /// <summary>The futures to cancel.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public PSObject[] Future { get; set; } = Array.Empty<PSObject>();

    /// <summary>How long to wait for the kernel's answer to each cancel (seconds or a TimeSpan; default 10 s).</summary>
    [Parameter]
    [TimeoutTransformation]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Cancels each future.</summary>
    protected override void ProcessRecord()
    {
        foreach (var item in Future)
        {
            var future = FutureHandle.From(item);
            if (future is null)
            {
                WriteError(WaitUringFutureCommand.NotAFuture(item));
                continue;
            }
            if (!ShouldProcess($"{future.Opcode?.ToString() ?? "consumed future"} ({future.State})", "Cancel"))
                continue;
            try
            {
                var cancel = future.Cancel();
                var deadline = DateTime.UtcNow + Timeout;
                while (!cancel.Wait(s_slice))
                {
                    if (Stopping)
                        throw new PipelineStoppedException();
                    if (DateTime.UtcNow >= deadline)
                        throw new TimeoutException($"The kernel did not answer the cancel of {future.Opcode} within {Timeout.TotalSeconds:0.###} s.");
                }
                WriteObject(cancel.GetAwaiter().GetResult());
            }
            catch (PipelineStoppedException)
            {
                throw;
            }
            catch (Exception e)
            {
                WriteError(UringErrors.Create(e, future.Boxed));
            }
        }
    }
}
