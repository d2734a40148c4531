using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Uring.AspNetCore.Tests;

/// <summary>An HTTP/1.1 client over a plain socket: exact bytes out, responses parsed one by one.</summary>
public sealed class RawHttp : IDisposable
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    private RawHttp(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    public static async Task<RawHttp> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        return new RawHttp(socket);
    }

    public static string Get(string path) => $"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n";

    public Task SendAsync(string text) => SendAsync(Encoding.ASCII.GetBytes(text));

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
            bytes = bytes[await Socket.SendAsync(bytes)..];
    }

    /// <summary>The next response: status line and headers as sent, body de-chunked (none when <paramref name="headRequest"/>: the answer to HEAD).</summary>
    public async Task<Response> ReadResponseAsync(bool headRequest = false)
    {
        var head = await ReadLineBlockAsync();
        var lines = head.Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1]);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        byte[] body;
        if (headRequest)
            body = [];
        else if (headers.TryGetValue("content-length", out var length))
            body = await ReadExactlyAsync(int.Parse(length));
        else if (headers.TryGetValue("transfer-encoding", out var encoding) && encoding == "chunked")
        {
            var all = new MemoryStream();
            while (true)
            {
                var size = Convert.ToInt32((await ReadLineAsync()).Split(';')[0], 16);
                all.Write(await ReadExactlyAsync(size));
                await ReadLineAsync();
                if (size == 0)
                    break;
            }
            body = all.ToArray();
        }
        else
            body = [];
        return new Response(status, head, headers, body);
    }

    /// <summary>True when the server closed the connection (reads end of stream).</summary>
    public async Task<bool> ReadsEndOfStreamAsync()
    {
        try
        {
            return _start == _end && await Socket.ReceiveAsync(_buffer.AsMemory()) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    /// <summary>Closes with a reset (SO_LINGER 0) instead of a FIN.</summary>
    public void Reset()
    {
        Socket.LingerState = new LingerOption(true, 0);
        Socket.Close();
    }

    public void Dispose() => Socket.Dispose();

    private async Task<string> ReadLineBlockAsync()
    {
        var text = new StringBuilder();
        while (true)
        {
            var line = await ReadLineAsync();
            if (line.Length == 0)
                return text.ToString();
            if (text.Length > 0)
                text.Append("\r\n");
            text.Append(line);
        }
    }

    private async Task<string> ReadLineAsync()
    {
        var line = new StringBuilder();
        while (true)
        {
            if (_start == _end)
                await FillAsync();
            var b = _buffer[_start++];
            if (b == '\n' && line.Length > 0 && line[^1] == '\r')
                return line.ToString(0, line.Length - 1);
            line.Append((char)b);
        }
    }

    private async Task<byte[]> ReadExactlyAsync(int count)
    {
        var result = new byte[count];
        var done = 0;
        while (done < count)
        {
            if (_start == _end)
                await FillAsync();
            var n = Math.Min(count - done, _end - _start);
            _buffer.AsSpan(_start, n).CopyTo(result.AsSpan(done));
            _start += n;
            done += n;
        }
        return result;
    }

    private async Task FillAsync()
    {
        _start = 0;
        _end = await Socket.ReceiveAsync(_buffer.AsMemory());
        if (_end == 0)
            throw new EndOfStreamException("The server closed the connection.");
    }

    public sealed record Response(int Status, string Head, Dictionary<string, string> Headers, byte[] Body)
    {
        public string Text => Encoding.UTF8.GetString(Body);

        /// <summary>Status line and headers without the Date header (which changes every second).</summary>
        public string HeadWithoutDate => string.Join("\r\n", Head.Split("\r\n").Where(l => !l.StartsWith("Date:", StringComparison.OrdinalIgnoreCase)));
    }
}
