using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Uring;

/// <summary>
/// Clears the upper halves of the AVX registers before calls into liburing.
/// </summary>
/// <remarks>
/// The JIT zeroes stack frames and copies structs with 256/512-bit stores, and it does not emit
/// <c>vzeroupper</c> before <c>delegate* unmanaged[SuppressGCTransition]</c> calls. liburing-ffi is
/// compiled for SSE; its first SSE instruction after such a store then pays the AVX-to-SSE
/// transition penalty. Measured here (façade NOP start path): about 170 ns per operation with the
/// penalty, 35 ns without. A method that itself uses a 256-bit register gets a
/// <c>vzeroupper</c> in its epilogue, which is all this one is for.
/// </remarks>
internal static class VectorState
{
    private static Vector256<byte> s_sink;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ZeroUpper()
    {
        if (Vector256.IsHardwareAccelerated)
            s_sink = Vector256<byte>.Zero;
    }
}
