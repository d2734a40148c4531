using System.Management.Automation;

namespace Uring.PowerShell;

/// <summary><c>New-UringBuffer</c>: native memory that an operation lends to the kernel (an
/// <see cref="OwnershipMemory"/>). Dispose it when done.</summary>
[Cmdlet(VerbsCommon.New, "UringBuffer", DefaultParameterSetName = LengthSet)]
[OutputType(typeof(OwnershipMemory))]
public sealed class NewUringBufferCommand : PSCmdlet
{
    private const string LengthSet = "Length";
    private const string BytesSet = "Bytes";

    /// <summary>Size in bytes (zero-filled).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = LengthSet)]
    [ValidateRange(1, int.MaxValue)]
    public int Length { get; set; }

    /// <summary>Initial content; the buffer is as long as it.</summary>
    [Parameter(Mandatory = true, ParameterSetName = BytesSet)]
    [ValidateNotNullOrEmpty]
    public byte[] Bytes { get; set; } = Array.Empty<byte>();

    /// <summary>Alignment of the first byte, a power of two (default 4096, which suits O_DIRECT).</summary>
    [Parameter]
    public int Alignment { get; set; } = 4096;

    /// <summary>Allocates the buffer.</summary>
    protected override void ProcessRecord()
    {
        OwnershipMemory buffer;
        try
        {
            buffer = OwnershipMemory.Allocate(ParameterSetName == BytesSet ? Bytes.Length : Length, Alignment);
        }
        catch (Exception e)
        {
            WriteError(UringErrors.Create(e, Alignment, "Cannot allocate the buffer"));
            return;
        }
        if (ParameterSetName == BytesSet)
            Bytes.CopyTo(buffer.Span);
        WriteObject(buffer);
    }
}
