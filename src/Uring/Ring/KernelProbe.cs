using Uring.Bindings;

namespace Uring;

/// <summary>
/// What the running kernel offers: its release string and which opcodes its io_uring supports
/// (asked once per process with <c>io_uring_get_probe_ring</c> by the first ring; the answer
/// cannot change while the process runs).
/// </summary>
internal static unsafe class KernelProbe
{
    private static readonly Lazy<string> s_release = new(() =>
    {
        try { return File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); }
        catch (IOException) { return Environment.OSVersion.Version.ToString(); }
    });

    // Until the first ring has probed, nothing counts as supported: no operation can start without a ring anyway.
    private static bool[] s_supported = new bool[256];
    private static int s_probed;

    internal static string Release => s_release.Value;

    internal static bool IsSupported(io_uring_op opcode) => (uint)opcode < 256 && Volatile.Read(ref s_supported)[(int)opcode];

    /// <summary>Probes through <paramref name="ring"/> unless a ring already did.</summary>
    internal static void EnsureProbed(io_uring* ring)
    {
        if (Volatile.Read(ref s_probed) != 0)
            return;
        var probe = Liburing.io_uring_get_probe_ring(ring);
        if (probe == null)
            return; // try again with the next ring
        var supported = new bool[256];
        for (var op = 0; op < (int)io_uring_op.IORING_OP_LAST && op < 256; op++)
            supported[op] = Liburing.io_uring_opcode_supported(probe, op) != 0;
        Liburing.io_uring_free_probe(probe);
        if (Interlocked.CompareExchange(ref s_probed, 1, 0) == 0)
            Volatile.Write(ref s_supported, supported);
    }
}
