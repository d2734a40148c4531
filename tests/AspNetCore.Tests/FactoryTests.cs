using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Uring.AspNetCore.Tests;

/// <summary>The listener factory on its own, without Kestrel.</summary>
public sealed class FactoryTests
{
    [Fact]
    public void BindsTcpEndpointsOnly_OthersAreLeftToTheOtherTransports()
    {
        var factory = new UringTransportFactory();
        Assert.True(factory.CanBind(new IPEndPoint(IPAddress.Loopback, 0)));
        Assert.True(factory.CanBind(new IPEndPoint(IPAddress.IPv6Loopback, 0)));
        Assert.False(factory.CanBind(new UnixDomainSocketEndPoint("/tmp/uring-kestrel.sock")));
    }

    [Fact]
    public void ABadAcceptBackoff_IsRefusedWhenTheFactoryIsMade()
    {
        static UringTransportFactory With(AcceptBackoff? backoff) =>
            new(Microsoft.Extensions.Options.Options.Create(new UringTransportOptions { AcceptBackoff = backoff! }));
        Assert.Throws<ArgumentOutOfRangeException>(() => With(new AcceptBackoff { Initial = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => With(new AcceptBackoff { Initial = TimeSpan.FromSeconds(1), Maximum = TimeSpan.FromMilliseconds(10) }));
        Assert.Throws<ArgumentNullException>(() => With(null));
        Assert.Equal(TimeSpan.FromMilliseconds(500), new UringTransportOptions().AcceptBackoff.Maximum);
    }

    [Fact]
    public async Task APortInUse_IsKestrelsAddressInUseException()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var factory = new UringTransportFactory();
        await Assert.ThrowsAsync<AddressInUseException>(async () => await factory.BindAsync(taken.LocalEndPoint!));
    }

    [Fact]
    public async Task AListenerReportsItsBoundPort_AcceptsAConnection_AndUnbindEndsAccepting()
    {
        var factory = new UringTransportFactory(Microsoft.Extensions.Options.Options.Create(new UringTransportOptions { RingCount = 2 }));
        await using var listener = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)listener.EndPoint).Port;
        Assert.NotEqual(0, port);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        await using (var connection = await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)))
        {
            Assert.NotNull(connection);
            Assert.Equal(client.LocalEndPoint, connection.RemoteEndPoint);
            Assert.Equal(client.RemoteEndPoint, connection.LocalEndPoint);
            await client.SendAsync("ping"u8.ToArray());
            var read = await connection.Transport.Input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal("ping"u8.ToArray(), read.Buffer.ToArray());
            connection.Transport.Input.AdvanceTo(read.Buffer.End);
        }

        await listener.UnbindAsync();
        Assert.Null(await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
