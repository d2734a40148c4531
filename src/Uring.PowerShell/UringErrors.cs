using System.Management.Automation;
using Uring.Bindings;

namespace Uring.PowerShell;

/// <summary>
/// Turns what the façade throws into <see cref="ErrorRecord"/>s: the original exception (so
/// <c>$_.Exception.Errno</c> works), an error id naming the errno or the kind of failure, and
/// the category PowerShell users filter and read.
/// </summary>
internal static class UringErrors
{
    /// <summary>The record for <paramref name="error"/>; <paramref name="activity"/> (for example
    /// "Cannot read '/tmp'") becomes the message shown, followed by the exception's message.</summary>
    public static ErrorRecord Create(Exception error, object? target, string? activity = null)
    {
        var (id, category) = Classify(error);
        var record = new ErrorRecord(error, id, category, target);
        if (activity is not null)
            record.ErrorDetails = new ErrorDetails($"{activity}: {error.Message}");
        return record;
    }

    internal static (string Id, ErrorCategory Category) Classify(Exception error) => error switch
    {
        UringIOException io => (io.ErrnoName.Replace(' ', '_'), CategoryOf(io.Errno, io.Opcode)),
        TimeoutException => ("OperationTimedOut", ErrorCategory.OperationTimeout),
        OperationCanceledException => ("OperationCanceled", ErrorCategory.OperationStopped),
        RingDisposedException => ("RingDisposed", ErrorCategory.OperationStopped),
        ObjectDisposedException => ("ObjectDisposed", ErrorCategory.InvalidOperation),
        BufferBusyException => ("BufferBusy", ErrorCategory.ResourceBusy),
        OpcodeNotSupportedException => ("OpcodeNotSupported", ErrorCategory.NotImplemented),
        ArgumentException => ("InvalidArgument", ErrorCategory.InvalidArgument),
        InvalidOperationException => ("InvalidOperation", ErrorCategory.InvalidOperation),
        DllNotFoundException or EntryPointNotFoundException => ("LiburingNotLoaded", ErrorCategory.NotInstalled),
        _ => (error.GetType().Name, ErrorCategory.NotSpecified),
    };

    private static ErrorCategory CategoryOf(int errno, io_uring_op? opcode) => errno switch
    {
        2 or 20 => ErrorCategory.ObjectNotFound,                         // ENOENT, ENOTDIR
        1 or 13 or 30 => ErrorCategory.PermissionDenied,                 // EPERM, EACCES, EROFS
        9 or 14 or 21 or 22 or 29 or 36 or 40 => ErrorCategory.InvalidArgument, // EBADF, EFAULT, EISDIR, EINVAL, ESPIPE, ENAMETOOLONG, ELOOP
        17 => ErrorCategory.ResourceExists,                              // EEXIST
        11 or 16 or 26 => ErrorCategory.ResourceBusy,                    // EAGAIN, EBUSY, ETXTBSY
        12 or 23 or 24 or 28 => ErrorCategory.ResourceUnavailable,       // ENOMEM, ENFILE, EMFILE, ENOSPC
        27 or 122 => ErrorCategory.LimitsExceeded,                       // EFBIG, EDQUOT
        5 or 6 or 19 => ErrorCategory.DeviceError,                       // EIO, ENXIO, ENODEV
        38 or 95 => ErrorCategory.NotImplemented,                        // ENOSYS, EOPNOTSUPP
        62 or 110 => ErrorCategory.OperationTimeout,                     // ETIME, ETIMEDOUT
        4 or 125 => ErrorCategory.OperationStopped,                      // EINTR, ECANCELED
        32 or 104 or 111 or 113 or 101 => ErrorCategory.ConnectionError, // EPIPE, ECONNRESET, ECONNREFUSED, EHOSTUNREACH, ENETUNREACH
        _ => opcode switch
        {
            io_uring_op.IORING_OP_READ or io_uring_op.IORING_OP_READV or io_uring_op.IORING_OP_READ_FIXED or io_uring_op.IORING_OP_RECV => ErrorCategory.ReadError,
            io_uring_op.IORING_OP_WRITE or io_uring_op.IORING_OP_WRITEV or io_uring_op.IORING_OP_WRITE_FIXED or io_uring_op.IORING_OP_SEND => ErrorCategory.WriteError,
            io_uring_op.IORING_OP_OPENAT or io_uring_op.IORING_OP_OPENAT2 => ErrorCategory.OpenError,
            io_uring_op.IORING_OP_CLOSE => ErrorCategory.CloseError,
            _ => ErrorCategory.NotSpecified,
        },
    };
}
