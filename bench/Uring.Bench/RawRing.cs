using System.Runtime.InteropServices;
using Uring.Bindings;

namespace Uring.Bench;

/// <summary>A ring set up on the generated bindings alone, as the C loop sets up its own
/// (SINGLE_ISSUER | DEFER_TASKRUN, 256 entries), in native memory so that its address is stable.</summary>
internal static unsafe class RawRing
{
    public static io_uring* Create()
    {
        var ring = (io_uring*)NativeMemory.AllocZeroed((nuint)sizeof(io_uring));
        var ret = Liburing.io_uring_queue_init(256, ring, Constants.IORING_SETUP_SINGLE_ISSUER | Constants.IORING_SETUP_DEFER_TASKRUN);
        if (ret < 0)
        {
            NativeMemory.Free(ring);
            throw new InvalidOperationException($"io_uring_queue_init: {ret}");
        }
        return ring;
    }

    public static void Destroy(io_uring* ring)
    {
        Liburing.io_uring_queue_exit(ring);
        NativeMemory.Free(ring);
    }
}
