using Uring.Bindings;

namespace Uring;

/// <summary>The running kernel does not support an opcode (as reported by <c>io_uring_get_probe_ring</c>).</summary>
public class OpcodeNotSupportedException : NotSupportedException
{
    /// <summary>Creates the exception for <paramref name="opcode"/>.</summary>
    public OpcodeNotSupportedException(io_uring_op opcode, string kernelRelease)
        : base($"{opcode} is not supported by the running kernel (Linux {kernelRelease}); the ring's probe does not list it.")
    {
        Opcode = opcode;
    }

    /// <summary>The missing opcode.</summary>
    public io_uring_op Opcode { get; }
}
