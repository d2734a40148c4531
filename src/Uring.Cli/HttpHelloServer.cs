using System.Net;
using System.Text;

namespace Uring.Cli;

/// <summary>
/// <c>uring serve http</c>: a minimal HTTP/1.1 responder on the façade. Every request (its
/// header block; bodies are not read) gets "Hello, world"; connections are kept alive unless
/// the client asks to close or speaks HTTP/1.0 without keep-alive. Pipelined requests are
/// answered in order with one send.
/// </summary>
public static class HttpHelloServer
{
    private const int MaxHeaderBytes = 16 * 1024;
    private const int MaxBatch = 16;
    private static readonly byte[] s_keepAlive = Response("keep-alive");
    private static readonly byte[] s_close = Response("close");
    private static readonly byte[] s_tooLarge = Encoding.ASCII.GetBytes("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

    private static byte[] Response(string connection) => Encoding.ASCII.GetBytes(
        $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: {connection}\r\n\r\nHello, world\n");

    /// <summary>Serves until <paramref name="stop"/> is cancelled; <paramref name="ready"/> gets the bound end point.</summary>
    public static async Task RunAsync(IPEndPoint endPoint, Action<IPEndPoint> ready, CancellationToken stop)
    {
        var ring = new Ring(new RingOptions { Entries = 1024, CompletionQueueEntries = 8192, ThreadName = "http ring" });
        var listener = -1;
        BufferRing? buffers = null;
        try
        {
            listener = NetSocket.OpenTcpListener(endPoint, 4096);
            buffers = ring.CreateBufferRing(1024, 4096);
            ready(NetSocket.GetLocalEndPoint(listener));
            try
            {
                await foreach (var fd in ring.AcceptMultishot(listener).WithCancellation(stop))
                    _ = ServeConnectionAsync(ring, fd, buffers);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }
        finally
        {
            await Task.Run(ring.Dispose); // off the loop thread: cancels the receives and waits for their CQEs before the buffers go
            buffers?.Dispose();
            if (listener >= 0)
                NetSocket.Close(listener);
        }
    }

    private static async Task ServeConnectionAsync(Ring ring, int fd, BufferRing buffers)
    {
        using var output = OwnershipMemory.Allocate(s_keepAlive.Length * MaxBatch);
        var carry = new List<byte>();
        try
        {
            NetSocket.SetNoDelay(fd);
            await foreach (var lease in ring.ReceiveMultishot(fd, buffers))
            {
                int requests;
                bool close;
                using (lease)
                {
                    carry.AddRange(lease.Span);
                    (requests, close) = TakeRequests(carry);
                }
                if (carry.Count > MaxHeaderBytes)
                {
                    await SendAllAsync(ring, fd, output, s_tooLarge, 1);
                    return;
                }
                while (requests > 0)
                {
                    var batch = Math.Min(requests, MaxBatch);
                    requests -= batch;
                    var last = requests == 0 && close;
                    await SendAllAsync(ring, fd, output, s_keepAlive, last ? batch - 1 : batch);
                    if (last)
                    {
                        await SendAllAsync(ring, fd, output, s_close, 1);
                        return;
                    }
                }
            }
        }
        catch (Exception e) when (e is UringIOException or RingDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            NetSocket.Close(fd);
        }
    }

    /// <summary>Removes every complete header block from <paramref name="carry"/>; returns how many, and whether the last one asks to close.</summary>
    private static (int Requests, bool Close) TakeRequests(List<byte> carry)
    {
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(carry);
        var consumed = 0;
        var count = 0;
        var close = false;
        while (true)
        {
            var end = span[consumed..].IndexOf("\r\n\r\n"u8);
            if (end < 0)
                break;
            var header = span.Slice(consumed, end);
            close = WantsClose(header);
            consumed += end + 4;
            count++;
            if (close)
                break; // anything after a closing request is ignored
        }
        carry.RemoveRange(0, consumed);
        return (count, close);
    }

    private static bool WantsClose(ReadOnlySpan<byte> header)
    {
        var text = Encoding.ASCII.GetString(header);
        var firstLineEnd = text.IndexOf('\r');
        var requestLine = firstLineEnd < 0 ? text : text[..firstLineEnd];
        var http10 = requestLine.EndsWith("HTTP/1.0", StringComparison.Ordinal);
        var connection = "";
        foreach (var line in text.Split("\r\n"))
            if (line.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase))
                connection = line["Connection:".Length..].Trim();
        if (connection.Equals("close", StringComparison.OrdinalIgnoreCase))
            return true;
        return http10 && !connection.Equals("keep-alive", StringComparison.OrdinalIgnoreCase);
    }

    private static async Task SendAllAsync(Ring ring, int fd, OwnershipMemory output, byte[] response, int copies)
    {
        if (copies <= 0)
            return;
        var span = output.Span;
        for (var i = 0; i < copies; i++)
            response.CopyTo(span[(i * response.Length)..]);
        var length = copies * response.Length;
        var sent = 0;
        while (sent < length)
        {
            var (n, _) = await ring.Send(fd, sent == 0 ? output : output.Slice(sent, length - sent), sent == 0 ? length : -1);
            sent += n;
        }
    }
}
