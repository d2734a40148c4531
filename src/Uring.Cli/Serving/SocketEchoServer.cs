using System.Net;
using System.Net.Sockets;

namespace Uring.Cli.Serving;

/// <summary>
/// <c>uring serve echo --engine socket</c>: the echo protocol on .NET's <see cref="Socket"/>
/// (epoll underneath), one async loop per connection — the benchmark's baseline.
/// </summary>
internal static class SocketEchoServer
{
    private static readonly TimeSpan MinAcceptBackoff = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxAcceptBackoff = TimeSpan.FromMilliseconds(250);

    /// <summary>Serves until <paramref name="stop"/> is cancelled; <paramref name="ready"/> gets the bound end point.</summary>
    public static async Task RunAsync(ServerSettings settings, TextWriter log, Action<IPEndPoint> ready, CancellationToken stop)
    {
        using var listener = new Socket(settings.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(settings.EndPoint);
        listener.Listen(settings.Backlog);
        ready((IPEndPoint)listener.LocalEndPoint!);
        var backoff = MinAcceptBackoff;
        var paused = false;
        try
        {
            while (true)
            {
                Socket socket;
                try
                {
                    socket = await listener.AcceptAsync(stop);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
                {
                    // EMFILE/ENFILE: keep the open connections, retry later (said once per pause).
                    if (!paused)
                        log.WriteLine($"uring serve: cannot accept connections: {e.Message}; serving the open connections and retrying");
                    paused = true;
                    // Sleep on this thread: a timer would need a thread-pool thread, and .NET cannot
                    // start a thread while the process is out of descriptors.
                    Thread.Sleep(backoff);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxAcceptBackoff.Ticks));
                    continue;
                }
                if (paused)
                    log.WriteLine("uring serve: accepting connections again");
                paused = false;
                backoff = MinAcceptBackoff;
                _ = EchoAsync(socket, settings.BufferSize);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task EchoAsync(Socket socket, int bufferSize)
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
