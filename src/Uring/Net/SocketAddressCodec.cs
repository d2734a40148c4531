using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Uring;

/// <summary>
/// Converts <see cref="IPEndPoint"/>s to and from the kernel's <c>sockaddr_in</c> /
/// <c>sockaddr_in6</c> layouts (family in host order, port and address in network order).
/// </summary>
internal static unsafe class SocketAddressCodec
{
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;
    public const int SockaddrIn6Size = 28;
    public const int MaxSize = 128; // sizeof(struct sockaddr_storage)

    /// <summary>The kernel's AF_* number for <paramref name="family"/>.</summary>
    public static int LinuxFamily(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => AF_INET,
        AddressFamily.InterNetworkV6 => AF_INET6,
        AddressFamily.Unix => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, "Supported families: InterNetwork, InterNetworkV6, Unix."),
    };

    /// <summary>The kernel's protocol number (0: the family's default).</summary>
    public static int LinuxProtocol(ProtocolType protocol) => protocol == ProtocolType.Unspecified ? 0 : (int)protocol;

    /// <summary>Bytes needed for <paramref name="endPoint"/>.</summary>
    public static int SizeOf(IPEndPoint endPoint) => endPoint.AddressFamily switch
    {
        AddressFamily.InterNetwork => 16,
        AddressFamily.InterNetworkV6 => SockaddrIn6Size,
        _ => throw new ArgumentException($"Only IPv4 and IPv6 end points are supported, not {endPoint.AddressFamily}.", nameof(endPoint)),
    };

    /// <summary>Writes <paramref name="endPoint"/> at <paramref name="destination"/>; returns its length.</summary>
    public static int Write(IPEndPoint endPoint, Span<byte> destination)
    {
        var size = SizeOf(endPoint);
        destination[..size].Clear();
        if (endPoint.AddressFamily == AddressFamily.InterNetwork)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(destination, AF_INET);
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)endPoint.Port);
            endPoint.Address.TryWriteBytes(destination.Slice(4, 4), out _);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(destination, AF_INET6);
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)endPoint.Port);
            endPoint.Address.TryWriteBytes(destination.Slice(8, 16), out _);
            BinaryPrimitives.WriteUInt32LittleEndian(destination[24..], (uint)endPoint.Address.ScopeId);
        }
        return size;
    }

    /// <summary>Reads a sockaddr the kernel wrote; null for families other than IPv4/IPv6.</summary>
    public static IPEndPoint? Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < 2)
            return null;
        var family = BinaryPrimitives.ReadUInt16LittleEndian(source);
        if (family == AF_INET && source.Length >= 8)
            return new IPEndPoint(new IPAddress(source.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(source[2..]));
        if (family == AF_INET6 && source.Length >= SockaddrIn6Size)
            return new IPEndPoint(new IPAddress(source.Slice(8, 16), BinaryPrimitives.ReadUInt32LittleEndian(source[24..])), BinaryPrimitives.ReadUInt16BigEndian(source[2..]));
        return null;
    }

    /// <summary>A native copy of <paramref name="endPoint"/> owned by an operation (its Path blob, freed with the CQE).</summary>
    public static byte* AllocateNative(IPEndPoint endPoint, out nuint size)
    {
        var n = SizeOf(endPoint);
        var p = (byte*)NativeMemoryStatistics.AllocateZeroed((nuint)n, 8);
        Write(endPoint, new Span<byte>(p, n));
        size = (nuint)n;
        return p;
    }
}
