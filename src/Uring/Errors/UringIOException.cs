using Uring.Bindings;

namespace Uring;

/// <summary>
/// An io_uring operation completed with a negative <c>res</c>: the kernel's errno, and the
/// opcode that failed.
/// </summary>
public class UringIOException : IOException
{
    /// <summary>Creates the exception for <paramref name="errno"/> (positive) returned by <paramref name="opcode"/>.</summary>
    public UringIOException(int errno, io_uring_op opcode, string? detail = null)
        : base($"{opcode} failed: {Uring.Errno.Describe(errno)}{(detail is null ? "" : " — " + detail)}")
    {
        Errno = errno;
        Opcode = opcode;
        HResult = errno;
    }

    /// <summary>Creates the exception for a ring-level call (setup, submission) that failed with <paramref name="errno"/>.</summary>
    public UringIOException(int errno, string call)
        : base($"{call} failed: {Uring.Errno.Describe(errno)}")
    {
        Errno = errno;
        HResult = errno;
    }

    /// <summary>Creates the exception for a ring-level call that failed with <paramref name="errno"/>,
    /// keeping the exception that reported it.</summary>
    public UringIOException(int errno, string call, Exception? innerException)
        : base($"{call} failed: {Uring.Errno.Describe(errno)}", innerException)
    {
        Errno = errno;
        HResult = errno;
    }

    /// <summary>The positive errno (EBADF = 9, ...).</summary>
    public int Errno { get; }

    /// <summary>The operation that failed.</summary>
    public io_uring_op? Opcode { get; }

    /// <summary>The symbolic errno name as the kernel's headers define it (<c>ECONNRESET</c> for 104),
    /// or <c>errno N</c> for a value they do not define.</summary>
    public string ErrnoName => Uring.Errno.Name(Errno);
}
