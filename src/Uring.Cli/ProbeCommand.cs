using System.Reflection;
using Uring.Bindings;

namespace Uring.Cli;

/// <summary><c>uring probe</c>: what the running kernel offers.</summary>
public static class ProbeCommand
{
    /// <summary>Prints the report; returns 0.</summary>
    public static int Run(TextWriter output)
    {
        using var ring = new Ring(new RingOptions { Entries = 8, Threading = RingThreading.CallerThread });
        output.WriteLine($"kernel           Linux {Ring.KernelRelease}");
        output.WriteLine($"liburing          {Liburing.io_uring_major_version()}.{Liburing.io_uring_minor_version()} ({LiburingLibrary.LoadedFrom})");
        output.WriteLine($"ring setup flags  0x{ring.SetupFlags:x} ({string.Join(" | ", FlagNames("IORING_SETUP_", ring.SetupFlags))})");
        output.WriteLine($"SQ / CQ entries   {ring.SubmissionQueueEntries} / {ring.CompletionQueueEntries}");
        output.WriteLine();
        output.WriteLine("features");
        foreach (var (name, value) in Flags("IORING_FEAT_"))
            output.WriteLine($"  {(((ring.Features & value) != 0) ? "yes" : "no "),-4} {name}");
        output.WriteLine();

        var ops = Enum.GetValues<io_uring_op>().Where(o => o != io_uring_op.IORING_OP_LAST).ToArray();
        var width = ops.Max(o => o.ToString().Length);
        var supported = ops.Count(ring.IsSupported);
        output.WriteLine($"opcodes: {supported} of {ops.Length} supported");
        var rule = $"+-----+-{new string('-', width)}-+-----------+";
        output.WriteLine(rule);
        output.WriteLine($"| {"#",3} | {"opcode".PadRight(width)} | supported |");
        output.WriteLine(rule);
        foreach (var op in ops)
            output.WriteLine($"| {(int)op,3} | {op.ToString().PadRight(width)} | {(ring.IsSupported(op) ? "yes" : "NO"),-9} |");
        output.WriteLine(rule);
        return 0;
    }

    private static IEnumerable<(string Name, uint Value)> Flags(string prefix) =>
        typeof(Constants).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.Name.StartsWith(prefix, StringComparison.Ordinal))
            .Select(f => (f.Name, Convert.ToUInt32(f.GetRawConstantValue())))
            .Where(f => f.Item2 != 0 && (f.Item2 & (f.Item2 - 1)) == 0)
            .OrderBy(f => f.Item2);

    private static IEnumerable<string> FlagNames(string prefix, uint value)
    {
        var names = Flags(prefix).Where(f => (value & f.Value) != 0).Select(f => f.Name).ToList();
        return names.Count == 0 ? new[] { "none" } : names;
    }
}
