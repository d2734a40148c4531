namespace Uring;

/// <summary>
/// An <see cref="OwnershipMemory"/> was touched (span, memory, dispose, another submission)
/// while the kernel owned it, i.e. between the submission of an operation that borrowed it
/// and that operation's CQE.
/// </summary>
public class BufferBusyException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public BufferBusyException(string message) : base(message) { }
}
