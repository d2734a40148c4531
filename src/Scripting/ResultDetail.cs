using System.Net;
using System.Runtime.InteropServices;
using System.Text;

namespace Uring.Scripting;

/// <summary>
/// <c>struct result_detail { int32_t value; int32_t flags; int32_t port; char address[64]; }</c>:
/// what a pipe (the write end's fd), an accept (the peer) or a recvmsg (the sender and the MSG_*
/// flags) returns beside the int of its completion. The address is NUL-terminated text, empty
/// when there is none.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct ResultDetail
{
    /// <summary>Room for the longest IPv6 text (with a scope) and its NUL.</summary>
    public const int AddressCapacity = 64;

    /// <summary>Pipe: the write end's fd.</summary>
    public int Value;

    /// <summary>Recvmsg: the MSG_* flags the kernel set.</summary>
    public int Flags;

    /// <summary>The peer's or sender's port.</summary>
    public int Port;

    /// <summary>The peer's or sender's address as text (NUL-terminated).</summary>
    public fixed byte Address[AddressCapacity];

    internal static ResultDetail From(object detail)
    {
        var result = default(ResultDetail);
        switch (detail)
        {
            case PipeFds pipe:
                result.Value = pipe.WriteFd;
                break;
            case AcceptedSocket accepted:
                result.SetAddress(accepted.RemoteEndPoint);
                break;
            case ReceivedMessage message:
                result.Flags = (int)message.Flags;
                result.SetAddress(message.RemoteEndPoint);
                break;
            default:
                throw new ArgumentException($"A {detail.GetType().Name} result has no detail of this kind.");
        }
        return result;
    }

    private void SetAddress(IPEndPoint? endPoint)
    {
        if (endPoint is null)
            return;
        Port = endPoint.Port;
        var text = endPoint.Address.ToString();
        fixed (byte* p = Address)
        {
            var n = Encoding.ASCII.GetBytes(text, new Span<byte>(p, AddressCapacity - 1));
            p[n] = 0;
        }
    }
}
