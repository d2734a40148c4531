using System.Net;
using System.Net.Sockets;
using System.Text;
using Uring.Cli;

namespace Uring.Tests;

/// <summary>The sample servers of <c>uring serve</c>, driven in-process over loopback.</summary>
public sealed class SocketServeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(15);

    private static async Task<(Task Server, IPEndPoint EndPoint, CancellationTokenSource Stop)> StartAsync(params string[] args)
    {
        var stop = new CancellationTokenSource();
        var output = new BlockingWriter();
        var server = Task.Run(() => ServeCommand.RunAsync([.. args, "--port", "0"], output, stop.Token));
        var line = await output.FirstLine.WaitAsync(Limit);
        var endPoint = IPEndPoint.Parse(line[(line.LastIndexOf(' ') + 1)..]);
        Assert.Equal(IPAddress.Loopback, endPoint.Address); // loopback by default
        return (server, endPoint, stop);
    }

    [Theory]
    [InlineData("ring")]
    [InlineData("socket")]
    public async Task Echo_server_echoes_many_connections_byte_for_byte(string engine)
    {
        var (server, endPoint, stop) = await StartAsync("echo", "--engine", engine, "--buffers", "64", "--buffer-size", "512");
        try
        {
            var clients = Enumerable.Range(0, 20).Select(async c =>
            {
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await s.ConnectAsync(endPoint);
                var rnd = new Random(c);
                for (var round = 0; round < 20; round++)
                {
                    var message = new byte[rnd.Next(1, 3000)]; // larger than one ring buffer, sometimes
                    rnd.NextBytes(message);
                    await s.SendAsync(message);
                    var back = new byte[message.Length];
                    var got = 0;
                    while (got < back.Length)
                    {
                        var n = await s.ReceiveAsync(back.AsMemory(got));
                        Assert.True(n > 0, "the server closed the connection");
                        got += n;
                    }
                    Assert.Equal(message, back);
                }
            });
            await Task.WhenAll(clients).WaitAsync(Limit);
        }
        finally
        {
            stop.Cancel();
            await server.WaitAsync(Limit);
        }
    }

    [Fact]
    public async Task Http_server_answers_keep_alive_pipelined_and_closing_requests()
    {
        var (server, endPoint, stop) = await StartAsync("http");
        try
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await s.ConnectAsync(endPoint);
            const string Get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
            await s.SendAsync(Encoding.ASCII.GetBytes(Get + Get + "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
            var text = new StringBuilder();
            var buffer = new byte[4096];
            int n;
            while ((n = await s.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Limit)) > 0)
                text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            var responses = text.ToString().Split("HTTP/1.1 200 OK", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, responses.Length);
            Assert.All(responses, r => Assert.EndsWith("Hello, world\n", r));
            Assert.Contains("Connection: keep-alive", responses[0]);
            Assert.Contains("Connection: close", responses[2]); // and then the server closed
        }
        finally
        {
            stop.Cancel();
            await server.WaitAsync(Limit);
        }
    }

    private sealed class BlockingWriter : StringWriter
    {
        private readonly TaskCompletionSource<string> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<string> FirstLine => _first.Task;

        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            _first.TrySetResult(value ?? "");
        }
    }
}
