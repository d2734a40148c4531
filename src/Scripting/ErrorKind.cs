namespace Uring.Scripting;

/// <summary>
/// What went wrong, as the C ABI reports it: in the thread's last error after an entry point
/// returned a negative code, and in the <see cref="Completion.Status"/> of a completion.
/// The Python package mirrors these values (python/uring/_native.py).
/// </summary>
public enum ErrorKind
{
    /// <summary>No error.</summary>
    None = 0,

    /// <summary><see cref="UringIOException"/>: the kernel (or a ring-level call) failed with an errno.</summary>
    IO = 1,

    /// <summary><see cref="BufferBusyException"/>: the buffer is owned by the kernel.</summary>
    BufferBusy = 2,

    /// <summary><see cref="RingDisposedException"/>: the ring was closed.</summary>
    RingDisposed = 3,

    /// <summary><see cref="OpcodeNotSupportedException"/>: the running kernel lacks the opcode.</summary>
    NotSupported = 4,

    /// <summary><see cref="ArgumentException"/>: bad input (negative fd, buffer too small, bad handle...).</summary>
    Argument = 5,

    /// <summary><see cref="OperationCanceledException"/>: the operation was cancelled.</summary>
    Cancelled = 6,

    /// <summary><see cref="TimeoutException"/>: a linked timeout fired first.</summary>
    Timeout = 7,

    /// <summary><see cref="ObjectDisposedException"/>: the buffer was released.</summary>
    ObjectDisposed = 8,

    /// <summary><see cref="InvalidOperationException"/>: a call in the wrong state (for example on another thread than the ring's owner).</summary>
    InvalidOperation = 9,

    /// <summary>Anything else (a bug, out of memory): the message says what.</summary>
    Internal = 10,
}
