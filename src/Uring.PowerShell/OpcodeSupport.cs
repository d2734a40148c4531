namespace Uring.PowerShell;

/// <summary>One row of <c>Get-UringProbe</c>: an io_uring opcode and whether the running kernel supports it.</summary>
public sealed class OpcodeSupport
{
    internal OpcodeSupport(string opcode, int number, bool supported)
    {
        Opcode = opcode;
        Number = number;
        Supported = supported;
    }

    /// <summary>The opcode's name, for example IORING_OP_READ.</summary>
    public string Opcode { get; }

    /// <summary>Its number in the io_uring ABI.</summary>
    public int Number { get; }

    /// <summary>True when the kernel's probe lists it as supported.</summary>
    public bool Supported { get; }

    /// <inheritdoc />
    public override string ToString() => Opcode;
}
