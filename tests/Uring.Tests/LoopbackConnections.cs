using System.Net;

namespace Uring.Tests;

/// <summary>Loopback TCP connections for socket tests: a listener and connected (client, server) fd pairs, all closed on Dispose.</summary>
internal sealed class LoopbackConnections : IDisposable
{
    private readonly List<int> _fds = new();

    public LoopbackConnections()
    {
        Listener = Track(NetSocket.OpenTcpListener(new IPEndPoint(IPAddress.Loopback, 0), 4096));
        EndPoint = NetSocket.GetLocalEndPoint(Listener);
    }

    public int Listener { get; }

    public IPEndPoint EndPoint { get; }

    public int Track(int fd)
    {
        lock (_fds)
            _fds.Add(fd);
        return fd;
    }

    /// <summary>Connects a client through the ring and accepts it; returns (client, server).</summary>
    public async Task<(int Client, int Server)> ConnectAsync(Ring ring)
    {
        var client = Track(NetSocket.OpenTcp());
        var accept = ring.Accept(Listener);
        await ring.Connect(client, EndPoint).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        var server = Track((await accept.AsTask().WaitAsync(TimeSpan.FromSeconds(10))).Fd);
        NetSocket.SetNoDelay(client);
        return (client, server);
    }

    public void Close(int fd)
    {
        lock (_fds)
            _fds.Remove(fd);
        NetSocket.Close(fd);
    }

    public void Dispose()
    {
        lock (_fds)
        {
            foreach (var fd in _fds)
                NetSocket.Close(fd);
            _fds.Clear();
        }
    }
}
