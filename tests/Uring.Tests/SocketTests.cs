using System.Net;
using System.Net.Sockets;
using Uring.Bindings;

namespace Uring.Tests;

/// <summary>Socket operations over real loopback connections (127.0.0.1 only).</summary>
public sealed class SocketTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private readonly Ring _ring = new();
    private readonly List<int> _fds = new();

    public void Dispose()
    {
        _ring.Dispose();
        foreach (var fd in _fds)
            NetSocket.Close(fd);
    }

    private int Track(int fd)
    {
        _fds.Add(fd);
        return fd;
    }

    private static Task<T> Bounded<T>(CancelableFuture<T> f) => f.AsTask().WaitAsync(Limit);

    [Fact]
    public async Task Socket_bind_listen_accept_connect_send_recv_shutdown_close_through_the_ring()
    {
        var listener = Track(await Bounded(_ring.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)));
        Assert.True(listener >= 0);
        Assert.Equal(0, await Bounded(_ring.Bind(listener, new IPEndPoint(IPAddress.Loopback, 0))));
        Assert.Equal(0, await Bounded(_ring.Listen(listener, 16)));
        var port = NetSocket.GetLocalEndPoint(listener).Port;
        Assert.NotEqual(0, port);

        var client = Track(await Bounded(_ring.Socket(AddressFamily.InterNetwork, SocketType.Stream)));
        var accept = _ring.Accept(listener);
        Assert.Equal(0, await Bounded(_ring.Connect(client, new IPEndPoint(IPAddress.Loopback, port))));
        var accepted = await Bounded(accept);
        var server = Track(accepted.Fd);
        Assert.Equal(IPAddress.Loopback, accepted.RemoteEndPoint!.Address);
        Assert.Equal(NetSocket.GetLocalEndPoint(client).Port, accepted.RemoteEndPoint.Port);

        using var outgoing = OwnershipMemory.Allocate(1000);
        for (var i = 0; i < outgoing.Length; i++)
            outgoing.Span[i] = (byte)(i * 7);
        using var incoming = OwnershipMemory.Allocate(4096);
        var recv = _ring.Receive(server, incoming);
        var (sent, _) = await Bounded(_ring.Send(client, outgoing));
        Assert.Equal(1000, sent);
        var total = 0;
        var (got, _) = await Bounded(recv);
        total += got;
        while (total < 1000)
        {
            var (more, _) = await Bounded(_ring.Receive(server, incoming.Slice(total, 4096 - total)));
            Assert.True(more > 0);
            total += more;
        }
        Assert.True(outgoing.Span.SequenceEqual(incoming.Span[..1000]));

        // Shutdown(Send) on the client: the server reads end of stream.
        Assert.Equal(0, await Bounded(_ring.Shutdown(client, SocketShutdown.Send)));
        var (eof, _) = await Bounded(_ring.Receive(server, incoming));
        Assert.Equal(0, eof);

        Assert.Equal(0, await Bounded(_ring.Close(server)));
        _fds.Remove(server);
        Assert.Equal(0, await Bounded(_ring.Close(client)));
        _fds.Remove(client);
    }

    [Fact]
    public async Task IPv6_loopback_connect_accept_and_addresses()
    {
        var listener = Track(NetSocket.OpenTcpListener(new IPEndPoint(IPAddress.IPv6Loopback, 0)));
        var endPoint = NetSocket.GetLocalEndPoint(listener);
        Assert.Equal(IPAddress.IPv6Loopback, endPoint.Address);
        var client = Track(await Bounded(_ring.Socket(AddressFamily.InterNetworkV6, SocketType.Stream)));
        var accept = _ring.Accept(listener);
        Assert.Equal(0, await Bounded(_ring.Connect(client, endPoint)));
        var accepted = await Bounded(accept);
        Track(accepted.Fd);
        Assert.Equal(NetSocket.GetLocalEndPoint(client), accepted.RemoteEndPoint);
        Assert.Equal(IPAddress.IPv6Loopback, accepted.RemoteEndPoint!.Address);
    }

    [Fact]
    public async Task Works_with_System_Net_Sockets_handles()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;

        // The ring accepts on a .NET listener and connects a .NET client socket.
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = _ring.Accept(listener);
        Assert.Equal(0, await Bounded(_ring.Connect(client, new IPEndPoint(IPAddress.Loopback, port))));
        var accepted = await Bounded(accept);
        using var server = new Socket(new SafeSocketHandle(accepted.Fd, ownsHandle: true));

        // .NET sends, the ring receives on the .NET-owned fd; and back.
        await client.SendAsync("hello ring"u8.ToArray());
        using var buffer = OwnershipMemory.Allocate(64);
        var (n, _) = await Bounded(_ring.Receive(server, buffer));
        Assert.Equal("hello ring", System.Text.Encoding.ASCII.GetString(buffer.Span[..n]));

        "hello dotnet"u8.CopyTo(buffer.Span);
        var (sent, _) = await Bounded(_ring.Send(server, buffer, 12));
        Assert.Equal(12, sent);
        var back = new byte[64];
        var got = await client.ReceiveAsync(back.AsMemory()).AsTask().WaitAsync(Limit);
        Assert.Equal("hello dotnet", System.Text.Encoding.ASCII.GetString(back, 0, got));
    }

    [Fact]
    public async Task SendMessage_and_ReceiveMessage_carry_datagrams_and_the_sender()
    {
        using var a = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var b = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        a.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        b.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        using var head = OwnershipMemory.Allocate(5);
        using var tail = OwnershipMemory.Allocate(6);
        "head:"u8.CopyTo(head.Span);
        "-tail-"u8.CopyTo(tail.Span);
        using var r1 = OwnershipMemory.Allocate(4);
        using var r2 = OwnershipMemory.Allocate(64);
        var receive = _ring.ReceiveMessage(Ring.FdOf(b), new[] { r1, r2 });
        var (sent, _) = await Bounded(_ring.SendMessage(Ring.FdOf(a), new[] { head, tail }, (IPEndPoint)b.LocalEndPoint!));
        Assert.Equal(11, sent);
        var message = await Bounded(receive);
        Assert.Equal(11, message.BytesTransferred);
        Assert.Equal("head", System.Text.Encoding.ASCII.GetString(r1.Span));
        Assert.Equal(":-tail-", System.Text.Encoding.ASCII.GetString(r2.Span[..7]));
        Assert.Equal(a.LocalEndPoint, message.RemoteEndPoint);
        Assert.False(message.Flags.HasFlag(MessageFlags.Truncated));

        // A datagram larger than the buffers: the kernel says so with MSG_TRUNC.
        using var small = OwnershipMemory.Allocate(10);
        var truncated = _ring.ReceiveMessage(Ring.FdOf(b), new[] { small });
        await a.SendToAsync(new byte[100], b.LocalEndPoint!);
        var cut = await Bounded(truncated);
        Assert.Equal(10, cut.BytesTransferred);
        Assert.True(cut.Flags.HasFlag(MessageFlags.Truncated));
    }

    [Fact]
    public async Task Connect_to_a_closed_port_fails_with_ECONNREFUSED()
    {
        var probe = NetSocket.OpenTcpListener(new IPEndPoint(IPAddress.Loopback, 0));
        var port = NetSocket.GetLocalEndPoint(probe).Port;
        NetSocket.Close(probe); // nobody listens there now

        var client = Track(NetSocket.OpenTcp());
        var e = await Assert.ThrowsAsync<UringIOException>(() => Bounded(_ring.Connect(client, new IPEndPoint(IPAddress.Loopback, port))));
        Assert.Equal(111, e.Errno);
        Assert.Equal(io_uring_op.IORING_OP_CONNECT, e.Opcode);
    }

    [Fact]
    public async Task A_cancelled_receive_ends_cancelled_and_frees_its_buffer_only_after_the_CQE()
    {
        var listener = Track(NetSocket.OpenTcpListener(new IPEndPoint(IPAddress.Loopback, 0)));
        var client = Track(NetSocket.OpenTcp());
        var accept = _ring.Accept(listener);
        await Bounded(_ring.Connect(client, NetSocket.GetLocalEndPoint(listener)));
        var server = Track((await Bounded(accept)).Fd);

        var pool = new OwnershipMemoryPool(256);
        var buffer = pool.Rent();
        using var cts = new CancellationTokenSource();
        var recv = _ring.Receive(server, buffer, cancellationToken: cts.Token);
        Assert.Throws<BufferBusyException>(() => buffer.Span.Clear());
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Bounded(recv));
        Assert.Equal(1, pool.ReturnCount); // returned to its pool with the CQE
        pool.Dispose();
    }

    [Fact]
    public void Bad_arguments_throw_synchronously()
    {
        using var m = OwnershipMemory.Allocate(8);
        Assert.Throws<ArgumentOutOfRangeException>(() => _ring.Send(-1, m));
        Assert.Throws<ArgumentException>(() => _ring.Receive(0, m, 9));
        Assert.Throws<ArgumentNullException>(() => _ring.Connect(0, null!));
        Assert.Throws<ArgumentException>(() => _ring.SendMessage(0, Array.Empty<OwnershipMemory>()));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ring.CreateBufferRing(3, 64));
        var notListening = Track(NetSocket.OpenTcp());
        Assert.Throws<ArgumentException>(() => _ring.AcceptMultishot(notListening));
    }
}
