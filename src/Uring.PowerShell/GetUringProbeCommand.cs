using System.Management.Automation;
using Uring.Bindings;

namespace Uring.PowerShell;

/// <summary><c>Get-UringProbe</c>: which io_uring opcodes the running kernel supports.</summary>
[Cmdlet(VerbsCommon.Get, "UringProbe")]
[OutputType(typeof(OpcodeSupport))]
public sealed class GetUringProbeCommand : UringCmdlet
{
    private const string Prefix = "IORING_OP_";

    /// <summary>Opcodes to list, by name with or without the IORING_OP_ prefix; wildcards allowed. Default: all.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[]? Opcode { get; set; }

    /// <summary>Writes one object per opcode.</summary>
    protected override void ProcessRecord()
    {
        var ring = ActiveRing;
        var all = Enum.GetValues<io_uring_op>().Where(op => op != io_uring_op.IORING_OP_LAST).ToList();
        if (Opcode is null)
        {
            foreach (var op in all)
                WriteObject(Describe(ring, op));
            return;
        }
        foreach (var name in Opcode)
        {
            var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
            var matches = all.Where(op => pattern.IsMatch(op.ToString()) || pattern.IsMatch(op.ToString()[Prefix.Length..])).ToList();
            if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
            {
                WriteError(new ErrorRecord(
                    new ArgumentException($"There is no io_uring opcode named '{name}' (liburing {Liburing.io_uring_major_version()}.{Liburing.io_uring_minor_version()} knows {all.Count})."),
                    "OpcodeNotFound", ErrorCategory.ObjectNotFound, name));
                continue;
            }
            foreach (var op in matches)
                WriteObject(Describe(ring, op));
        }
    }

    private static OpcodeSupport Describe(Ring ring, io_uring_op op) => new(op.ToString(), (int)op, ring.IsSupported(op));
}
