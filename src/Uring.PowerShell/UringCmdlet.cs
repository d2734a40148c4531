using System.Management.Automation;

namespace Uring.PowerShell;

/// <summary>
/// What the cmdlets that run operations share: a ring (the user's, or one of their own for the
/// length of the pipeline), waiting for a future in slices so that Ctrl+C stops the command,
/// and, when it does, cancelling in the kernel and waiting for the CQE before any buffer is
/// reused or freed.
/// </summary>
public abstract class UringCmdlet : PSCmdlet, IDisposable
{
    /// <summary>How long a wait blocks before it looks at <see cref="Cmdlet.Stopping"/> again.</summary>
    private static readonly TimeSpan s_waitSlice = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a stopped command waits for the kernel to confirm a cancellation.</summary>
    private static readonly TimeSpan s_cancelBound = TimeSpan.FromSeconds(10);

    private Ring? _ownRing;

    /// <summary>The ring to run the operations on (from <c>New-UringRing</c>). Without it the
    /// command creates a ring of its own and disposes it when the pipeline ends.</summary>
    [Parameter]
    [ValidateNotNull]
    public Ring? Ring { get; set; }

    /// <summary>The ring to use: <see cref="Ring"/>, or one owned by this command.</summary>
    protected Ring ActiveRing
    {
        get
        {
            if (Ring is not null)
                return Ring;
            if (_ownRing is null)
            {
                try
                {
                    _ownRing = new Ring(new RingOptions { Entries = 64, ThreadName = $"io_uring {MyInvocation.MyCommand.Name}" });
                }
                catch (Exception e)
                {
                    ThrowTerminatingError(UringErrors.Create(e, null, "Cannot create an io_uring"));
                }
            }
            return _ownRing!;
        }
    }

    /// <summary>Waits for <paramref name="future"/> and returns its result, or throws what the
    /// operation ended with. When the pipeline is stopped meanwhile, cancels the operation,
    /// waits for its CQE and throws <see cref="PipelineStoppedException"/>.</summary>
    protected T Await<T>(CancelableFuture<T> future)
    {
        // Stopping is checked before every wait, not only when one times out: a copy of small
        // blocks completes each operation within the slice and would otherwise never look.
        while (true)
        {
            if (Stopping)
            {
                CancelAndDrain(future);
                throw new PipelineStoppedException();
            }
            if (future.Wait(s_waitSlice))
                return future.GetAwaiter().GetResult();
        }
    }

    /// <summary>Cancels <paramref name="future"/> in the kernel and consumes it once its CQE has
    /// arrived, whatever it ended with. After that the kernel no longer owns its buffer.
    /// Returns false when the kernel did not answer within a bound (the ring's disposal then
    /// waits for it; its buffer must not be touched).</summary>
    protected static bool CancelAndDrain<T>(CancelableFuture<T> future)
    {
        try
        {
            if (!future.Wait(TimeSpan.Zero))
            {
                var cancel = future.Cancel();
                if (cancel.Wait(s_cancelBound))
                    _ = cancel.GetAwaiter().GetResult();
            }
            if (!future.Wait(s_cancelBound))
                return false;
            _ = future.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or TimeoutException or InvalidOperationException)
        {
            // the expected ends of a cancelled operation (or an already consumed future)
        }
        return true;
    }

    /// <summary>AT_EMPTY_PATH: statx of the fd itself.</summary>
    private const int AtEmptyPath = 0x1000;

    /// <summary>statx(2) of an open file.</summary>
    protected StatxResult StatFd(int fd) => Await(ActiveRing.Statx(fd, "", AtEmptyPath));

    /// <summary>Closes <paramref name="fd"/> through the ring, ignoring failures: for paths where an
    /// error is already on its way, or where nothing was written.</summary>
    protected void CloseQuietly(int fd)
    {
        try
        {
            var close = ActiveRing.Close(fd);
            if (close.Wait(s_cancelBound))
                _ = close.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or OperationCanceledException)
        {
        }
    }

    /// <summary>Disposes a buffer unless the kernel still owns it (a cancellation the kernel did not
    /// confirm in time): the ring's disposal then waits for the CQE and releases it.</summary>
    protected static void DisposeQuietly(OwnershipMemory? buffer)
    {
        try
        {
            buffer?.Dispose();
        }
        catch (InvalidOperationException)
        {
            // BufferBusyException (kernel-owned), or ObjectDisposedException (released already)
        }
    }

    /// <summary>Writes <paramref name="error"/> as a non-terminating error (so -ErrorAction decides).</summary>
    protected void WriteUringError(Exception error, object? target, string activity) =>
        WriteError(UringErrors.Create(error, target, activity));

    /// <summary>Disposes the ring this command created, if any.</summary>
    public void Dispose()
    {
        _ownRing?.Dispose();
        _ownRing = null;
        GC.SuppressFinalize(this);
    }
}
