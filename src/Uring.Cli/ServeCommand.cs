using System.Net;
using System.Runtime.InteropServices;

namespace Uring.Cli;

/// <summary>
/// <c>uring serve echo|http [--port N] [--address IP] [--engine ring|socket] [--buffers N] [--buffer-size BYTES]</c>:
/// sample servers on the façade, bound to 127.0.0.1 unless told otherwise. Runs until SIGINT/SIGTERM.
/// </summary>
public static class ServeCommand
{
    /// <summary>The usage text.</summary>
    public const string Usage = "usage: uring serve echo|http [--port N] [--address IP] [--engine ring|socket] [--buffers N] [--buffer-size BYTES]";

    /// <summary>Parses the arguments and serves; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken stop = default)
    {
        if (args.Length == 0 || args[0] is not ("echo" or "http"))
            throw new ArgumentException(Usage);
        var kind = args[0];
        var port = 8000;
        var address = IPAddress.Loopback;
        var engine = "ring";
        var bufferCount = 1024;
        var bufferSize = 4096;
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--port" when value is not null:
                    port = int.Parse(value);
                    break;
                case "--address" when value is not null:
                    address = IPAddress.Parse(value);
                    break;
                case "--engine" when value is "ring" or "socket":
                    engine = value;
                    break;
                case "--buffers" when value is not null:
                    bufferCount = int.Parse(value);
                    break;
                case "--buffer-size" when value is not null:
                    bufferSize = int.Parse(value);
                    break;
                default:
                    throw new ArgumentException($"unknown or incomplete option '{args[i]}'\n{Usage}");
            }
            i++;
        }
        if (port is < 0 or > 65535)
            throw new ArgumentException($"port {port} is out of range");
        if (kind == "http" && engine != "ring")
            throw new ArgumentException("serve http runs on the ring engine only");

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cts.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
        var endPoint = new IPEndPoint(address, port);
        void Ready(IPEndPoint bound)
        {
            output.WriteLine($"uring serve {kind} ({engine}) listening on {bound}");
            output.Flush();
        }

        if (kind == "http")
            await HttpHelloServer.RunAsync(endPoint, Ready, cts.Token);
        else if (engine == "socket")
            await EchoServers.RunSocketAsync(endPoint, bufferSize, Ready, cts.Token);
        else
            await EchoServers.RunRingAsync(endPoint, bufferCount, bufferSize, Ready, cts.Token);
        return 0;
    }
}
