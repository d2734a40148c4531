using Uring.Bindings;

namespace Uring;

/// <summary>The results operation kinds compute from a CQE that need more than its <c>res</c>
/// (named in <c>operations.json</c> by the kinds' <c>produce</c> expressions).</summary>
internal static unsafe class OperationResults
{
    private const int ENOBUFS = 105;

    /// <summary>IORING_OP_TIMEOUT: true when the time elapsed (-ETIME), false when enough other completions came first.</summary>
    internal static bool Timeout(Operation op) => op.Res switch
    {
        -Errno.ETIME => true,
        >= 0 => false,
        _ => throw op.Ring.MapError(op, op.Res),
    };

    /// <summary>IORING_OP_LINK_TIMEOUT: true when it fired; false when the linked operation finished first.</summary>
    internal static bool LinkTimeout(Operation op) => op.Res switch
    {
        -Errno.ETIME => true,
        -Errno.ECANCELED when !op.IsCancelRequested => false,
        >= 0 => false,
        _ => throw op.Ring.MapError(op, op.Res),
    };

    internal static AcceptedSocket Accept(Operation op)
    {
        var length = (int)Math.Min(*ScratchMemory.AcceptAddressLength(op.Scratch), SocketAddressCodec.MaxSize);
        return new AcceptedSocket(op.Res, SocketAddressCodec.Read(new ReadOnlySpan<byte>(op.Scratch, length)));
    }

    internal static ReceivedMessage Message(Operation op, OwnershipMemory[] buffers)
    {
        var msg = ScratchMemory.MessageHeader(op.Scratch);
        var length = (int)Math.Min(msg->msg_namelen, SocketAddressCodec.MaxSize);
        var from = SocketAddressCodec.Read(new ReadOnlySpan<byte>(op.Scratch + ScratchMemory.AddressOffset, length));
        return new ReceivedMessage(op.Res, buffers, from, (MessageFlags)msg->msg_flags);
    }

    /// <summary>A buffer-select receive: the lease of the buffer the kernel picked (default at end of stream).</summary>
    internal static ProvidedBuffer Provided(Operation op, BufferRing ring)
    {
        if (op.Res < 0)
        {
            if (op.Res == -ENOBUFS)
                ring.NoteEnobufs();
            throw op.Ring.MapError(op, op.Res);
        }
        if ((op.CqeFlags & Constants.IORING_CQE_F_BUFFER) == 0)
            return default; // end of stream: the kernel picked no buffer
        return ring.Take((ushort)(op.CqeFlags >> Constants.IORING_CQE_BUFFER_SHIFT), op.Res);
    }

    /// <summary>IORING_OP_PIPE: the two fds the kernel wrote into the scratch memory.</summary>
    internal static PipeFds Pipe(Operation op) => new(((int*)op.Scratch)[0], ((int*)op.Scratch)[1]);
}

/// <summary>A connection accepted by <see cref="Ring.Accept"/>: its fd (the caller closes it) and the peer's address.</summary>
public readonly record struct AcceptedSocket(int Fd, System.Net.IPEndPoint? RemoteEndPoint);

/// <summary>The outcome of <see cref="Ring.ReceiveMessage"/>: bytes, the buffers (owned by the caller again), the sender, and the MSG_* flags the kernel set (e.g. Truncated).</summary>
public readonly record struct ReceivedMessage(int BytesTransferred, OwnershipMemory[] Buffers, System.Net.IPEndPoint? RemoteEndPoint, MessageFlags Flags);

/// <summary>The two ends of a pipe made by <see cref="Ring.Pipe"/> (the caller closes both).</summary>
public readonly record struct PipeFds(int ReadFd, int WriteFd);
