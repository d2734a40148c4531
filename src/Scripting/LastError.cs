using System.Text;

namespace Uring.Scripting;

/// <summary>
/// The thread's last error: every entry point catches whatever it raised, stores it here and
/// returns a negative code; the caller fetches the details with <c>uring_last_error</c>.
/// </summary>
internal static unsafe class LastError
{
    internal const int EIO = 5, EBADF = 9, ENOMEM = 12, EBUSY = 16, EINVAL = 22, ETIME = 62, EOPNOTSUPP = 95, ECANCELED = 125;

    [ThreadStatic] private static string? t_message;
    [ThreadStatic] private static ErrorKind t_kind;
    [ThreadStatic] private static int t_errno;

    /// <summary>Records <paramref name="error"/> as the thread's last error and returns the negative errno to hand back.</summary>
    internal static int Set(Exception error)
    {
        // A failed static constructor (liburing-ffi.so.2 not found, for one) says only "a type
        // initializer threw"; the caller needs the cause.
        while (error is TypeInitializationException { InnerException: { } inner })
            error = inner;
        var (kind, errno) = Classify(error);
        t_kind = kind;
        t_errno = errno;
        t_message = error.Message;
        return -errno;
    }

    internal static (ErrorKind Kind, int Errno) Classify(Exception error) => error switch
    {
        UringIOException io => (ErrorKind.IO, io.Errno),
        BufferBusyException => (ErrorKind.BufferBusy, EBUSY),
        RingDisposedException => (ErrorKind.RingDisposed, EBADF),
        OpcodeNotSupportedException => (ErrorKind.NotSupported, EOPNOTSUPP),
        OperationCanceledException => (ErrorKind.Cancelled, ECANCELED),
        TimeoutException => (ErrorKind.Timeout, ETIME),
        ObjectDisposedException => (ErrorKind.ObjectDisposed, EBADF),
        ArgumentException => (ErrorKind.Argument, EINVAL),
        InvalidOperationException => (ErrorKind.InvalidOperation, EINVAL),
        OutOfMemoryException => (ErrorKind.Internal, ENOMEM),
        _ => (ErrorKind.Internal, EIO),
    };

    /// <summary>Copies the message (UTF-8, not terminated) into <paramref name="buffer"/>; returns its full length.</summary>
    internal static int Get(byte* buffer, int capacity, int* kind, int* errno)
    {
        if (kind != null)
            *kind = (int)t_kind;
        if (errno != null)
            *errno = t_errno;
        return CopyUtf8(t_message ?? "", buffer, capacity);
    }

    internal static int CopyUtf8(string text, byte* buffer, int capacity)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (buffer != null && capacity > 0)
            bytes.AsSpan(0, Math.Min(bytes.Length, capacity)).CopyTo(new Span<byte>(buffer, capacity));
        return bytes.Length;
    }
}
