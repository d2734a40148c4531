using System.Net;
using System.Net.Sockets;

namespace Uring.Cli;

/// <summary>
/// Echo servers for <c>uring serve echo</c>: on the façade (multishot accept, multishot receive
/// into a provided buffer ring, send straight from the leased buffer), and on .NET's
/// <see cref="Socket"/> for comparison.
/// </summary>
public static class EchoServers
{
    /// <summary>Serves until <paramref name="stop"/> is cancelled; <paramref name="ready"/> gets the bound end point.</summary>
    public static async Task RunRingAsync(IPEndPoint endPoint, int bufferCount, int bufferSize, Action<IPEndPoint> ready, CancellationToken stop)
    {
        var ring = new Ring(new RingOptions { Entries = 1024, CompletionQueueEntries = 8192, ThreadName = "echo ring" });
        var listener = -1;
        BufferRing? buffers = null;
        try
        {
            listener = NetSocket.OpenTcpListener(endPoint, 4096);
            buffers = ring.CreateBufferRing(bufferCount, bufferSize);
            ready(NetSocket.GetLocalEndPoint(listener));
            var connections = new List<Task>();
            try
            {
                await foreach (var fd in ring.AcceptMultishot(listener).WithCancellation(stop))
                {
                    connections.RemoveAll(t => t.IsCompleted);
                    connections.Add(EchoRingConnectionAsync(ring, fd, buffers));
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }
        finally
        {
            // The ring first: its disposal cancels the connections' receives and waits for their
            // last CQEs; only then may the buffer ring's memory go. Off the loop thread, where
            // Dispose would return before the shutdown is done.
            await Task.Run(ring.Dispose);
            buffers?.Dispose();
            if (listener >= 0)
                NetSocket.Close(listener);
        }
    }

    private static async Task EchoRingConnectionAsync(Ring ring, int fd, BufferRing buffers)
    {
        try
        {
            NetSocket.SetNoDelay(fd);
            await foreach (var lease in ring.ReceiveMultishot(fd, buffers))
            {
                try
                {
                    var memory = lease.Memory!;
                    var (sent, _) = await ring.Send(fd, memory, lease.Length);
                    while (sent < lease.Length)
                    {
                        var (more, _) = await ring.Send(fd, memory.Slice(sent, lease.Length - sent));
                        sent += more;
                    }
                }
                finally
                {
                    lease.Dispose();
                }
            }
        }
        catch (Exception e) when (e is UringIOException or RingDisposedException or OperationCanceledException)
        {
            // the peer reset the connection, or the server is stopping
        }
        finally
        {
            NetSocket.Close(fd);
        }
    }

    /// <summary>The same echo protocol on <see cref="Socket"/> (epoll underneath), one async loop per connection.</summary>
    public static async Task RunSocketAsync(IPEndPoint endPoint, int bufferSize, Action<IPEndPoint> ready, CancellationToken stop)
    {
        using var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(endPoint);
        listener.Listen(4096);
        ready((IPEndPoint)listener.LocalEndPoint!);
        try
        {
            while (true)
            {
                var socket = await listener.AcceptAsync(stop);
                _ = EchoSocketConnectionAsync(socket, bufferSize);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task EchoSocketConnectionAsync(Socket socket, int bufferSize)
    {
        using (socket)
        {
            socket.NoDelay = true;
            var buffer = new byte[bufferSize];
            try
            {
                while (true)
                {
                    var n = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None);
                    if (n == 0)
                        return;
                    var sent = 0;
                    while (sent < n)
                        sent += await socket.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None);
                }
            }
            catch (SocketException)
            {
            }
        }
    }
}
