using Uring.Bindings;

namespace Uring;

/// <summary>
/// The ring was disposed: either a new operation was started on a disposed ring, or an
/// operation that was queued or in flight when the ring was disposed ended because of it.
/// </summary>
public class RingDisposedException : ObjectDisposedException
{
    /// <summary>Creates the exception.</summary>
    public RingDisposedException(string message, io_uring_op? opcode = null) : base(nameof(Ring), message)
    {
        Opcode = opcode;
    }

    /// <summary>The operation affected, when there is one.</summary>
    public io_uring_op? Opcode { get; }
}
