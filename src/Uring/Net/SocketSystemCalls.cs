using System.Net;
using System.Runtime.InteropServices;
using Uring.Bindings;

namespace Uring;

/// <summary>bind(2) and listen(2) for kernels whose io_uring lacks IORING_OP_BIND/LISTEN (before 6.11):
/// the call is made at once and the future is already complete.</summary>
internal static unsafe class SocketSystemCalls
{
    internal static CancelableFuture<int> Bind(Ring ring, FileDescriptor fd, IPEndPoint endPoint)
    {
        fd.Check(nameof(fd), allowRegistered: false);
        ArgumentNullException.ThrowIfNull(endPoint);
        var address = stackalloc byte[SocketAddressCodec.MaxSize];
        var length = SocketAddressCodec.Write(endPoint, new Span<byte>(address, SocketAddressCodec.MaxSize));
        return Call(ring, io_uring_op.IORING_OP_BIND, fd, &BindCall, address, (uint)length);
    }

    internal static CancelableFuture<int> Listen(Ring ring, FileDescriptor fd, int backlog)
    {
        fd.Check(nameof(fd), allowRegistered: false);
        ArgumentOutOfRangeException.ThrowIfNegative(backlog);
        return Call(ring, io_uring_op.IORING_OP_LISTEN, fd, &ListenCall, null, (uint)backlog);
    }

    private static int BindCall(int fd, byte* address, uint length) => SocketNative.bind(fd, address, length);

    private static int ListenCall(int fd, byte* unused, uint backlog) => SocketNative.listen(fd, (int)backlog);

    private static CancelableFuture<int> Call(Ring ring, io_uring_op opcode, FileDescriptor fd, delegate*<int, byte*, uint, int> call, byte* address, uint value)
    {
        SafeHandle? reference = null;
        byte flags = 0;
        var raw = fd.Acquire(ring, ref flags, ref reference, nameof(fd));
        try
        {
            var r = call(raw, address, value);
            var res = r < 0 ? -Marshal.GetLastPInvokeError() : r; // errno of this call, read before any other
            return ring.Completed(opcode, res);
        }
        finally
        {
            FileDescriptor.Release(ref reference);
        }
    }
}
