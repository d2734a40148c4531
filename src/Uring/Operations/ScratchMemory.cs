using Uring.Bindings;

namespace Uring;

/// <summary>
/// The per-slot scratch memory the kernel reads or writes for an operation in flight (a
/// timespec, iovecs, a msghdr, a sockaddr, a statx buffer). It belongs to the slot, so it lives
/// exactly as long as the operation is in the kernel, and costs no allocation. Layout:
/// [0, 256) statx buffer, or iovecs (16 × 16 bytes), or accept's sockaddr; [128, 256) a message's
/// sockaddr (then at most 8 iovecs) or accept's address length; [256, 320) a timespec or a msghdr.
/// </summary>
internal static unsafe class ScratchMemory
{
    internal const int Size = 320;
    internal const int TimespecOffset = 256;
    internal const int AddressOffset = 128;
    internal const int MessageHeaderOffset = 256;
    internal const int MaxIovecs = 16;
    internal const int MaxMessageBuffers = AddressOffset / 16;
    // Fails to compile (a negative constant converted to uint) if the scratch shrinks below what
    // a message lays out in it (msghdr is 56 bytes).
    private const uint MessageFits = Size - (MessageHeaderOffset + 56);

    internal static __kernel_timespec* Timespec(byte* scratch, long seconds, long nanoseconds)
    {
        var ts = (__kernel_timespec*)(scratch + TimespecOffset);
        ts->tv_sec = seconds;
        ts->tv_nsec = nanoseconds;
        return ts;
    }

    internal static iovec* Iovecs(byte* scratch, OwnershipMemory[] buffers)
    {
        var iov = (iovec*)scratch;
        for (var i = 0; i < buffers.Length; i++)
        {
            iov[i].iov_base = buffers[i].Pointer;
            iov[i].iov_len = (nuint)buffers[i].Length;
        }
        return iov;
    }

    /// <summary>A msghdr over <paramref name="buffers"/>; for a send, <paramref name="name"/> is the
    /// destination (may be null); for a receive, room for the sender's address.</summary>
    internal static msghdr* Message(byte* scratch, OwnershipMemory[] buffers, byte* name, nuint nameLength, bool receive)
    {
        var iov = Iovecs(scratch, buffers);
        var msg = (msghdr*)(scratch + MessageHeaderOffset);
        *msg = default;
        VectorState.ZeroUpper(); // the struct store above may be a 256-bit one; liburing's SSE code runs next
        msg->msg_iov = iov;
        msg->msg_iovlen = (nuint)buffers.Length;
        if (receive)
        {
            msg->msg_name = scratch + AddressOffset;
            msg->msg_namelen = SocketAddressCodec.MaxSize;
        }
        else if (name != null)
        {
            Buffer.MemoryCopy(name, scratch + AddressOffset, SocketAddressCodec.MaxSize, (long)nameLength);
            msg->msg_name = scratch + AddressOffset;
            msg->msg_namelen = (uint)nameLength;
        }
        return msg;
    }

    internal static msghdr* MessageHeader(byte* scratch) => (msghdr*)(scratch + MessageHeaderOffset);

    /// <summary>Room for the peer address of an accept, its length set to the room's size.</summary>
    internal static sockaddr* AcceptAddress(byte* scratch)
    {
        *(uint*)(scratch + AddressOffset) = SocketAddressCodec.MaxSize;
        return (sockaddr*)scratch;
    }

    internal static uint* AcceptAddressLength(byte* scratch) => (uint*)(scratch + AddressOffset);
}
