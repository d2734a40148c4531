using System.Diagnostics;
using System.Management.Automation;

namespace Uring.PowerShell;

/// <summary>
/// <c>Wait-UringFuture</c>: waits for futures and writes their results; an operation that
/// failed, was cancelled or did not finish in time becomes an error record.
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "UringFuture")]
public sealed class WaitUringFutureCommand : PSCmdlet
{
    private static readonly TimeSpan s_slice = TimeSpan.FromMilliseconds(100);
    private Stopwatch? _clock;

    /// <summary>The futures (CancelableFuture values returned by a ring's operations).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public PSObject[] Future { get; set; } = Array.Empty<PSObject>();

    /// <summary>The longest time to wait, for all futures of this command together (seconds or a
    /// TimeSpan). A future still pending then is reported as an OperationTimeout error and left
    /// pending: wait again, or cancel it with Stop-UringFuture.</summary>
    [Parameter]
    [TimeoutTransformation]
    public TimeSpan? Timeout { get; set; }

    /// <summary>Starts the clock for <see cref="Timeout"/>.</summary>
    protected override void BeginProcessing() => _clock = Stopwatch.StartNew();

    /// <summary>Waits for each future.</summary>
    protected override void ProcessRecord()
    {
        foreach (var item in Future)
        {
            var future = FutureHandle.From(item);
            if (future is null)
            {
                WriteError(NotAFuture(item));
                continue;
            }
            try
            {
                if (!WaitFor(future))
                {
                    WriteError(new ErrorRecord(
                        new TimeoutException($"{future.Opcode} did not complete within {Timeout!.Value.TotalSeconds:0.###} s; it is still pending (Stop-UringFuture cancels it)."),
                        "WaitTimeout", ErrorCategory.OperationTimeout, future.Boxed));
                    continue;
                }
                WriteObject(future.GetResult(), enumerateCollection: false);
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

    /// <summary>True when the future completed; false when <see cref="Timeout"/> passed first.
    /// A stopped pipeline leaves the operation alone: the future is the caller's.</summary>
    private bool WaitFor(FutureHandle future)
    {
        while (true)
        {
            var slice = s_slice;
            if (Timeout is { } limit)
            {
                var remaining = limit - _clock!.Elapsed;
                if (remaining <= TimeSpan.Zero)
                    return future.Wait(TimeSpan.Zero);
                if (remaining < slice)
                    slice = remaining;
            }
            if (future.Wait(slice))
                return true;
            if (Stopping)
                throw new PipelineStoppedException();
        }
    }

    internal static ErrorRecord NotAFuture(PSObject item) => new(
        new ArgumentException($"'{item}' ({item.BaseObject.GetType().Name}) is not a CancelableFuture; pass what a ring operation returned."),
        "NotAFuture", ErrorCategory.InvalidArgument, item);
}
