using System.Net;
using Uring.Cli.Serving;

namespace Uring.Cli;

/// <summary>
/// <c>uring serve echo|http</c>: sample servers on the façade, bound to 127.0.0.1:8000 unless
/// told otherwise. Runs until <c>stop</c> is cancelled (SIGINT/SIGTERM in the tool).
/// </summary>
public static class ServeCommand
{
    /// <summary>Serves until <paramref name="stop"/> is cancelled; the first line on <paramref name="output"/> names the bound address. Returns the exit code.</summary>
    public static async Task<int> RunAsync(ServerSettings settings, TextWriter output, TextWriter log, CancellationToken stop = default)
    {
        // Create the console writers now: the first use of Console.Error duplicates fd 2, which
        // fails once the process has run out of descriptors — exactly when there is something to say.
        log.Flush();
        void Ready(IPEndPoint bound)
        {
            output.WriteLine($"uring serve {Name(settings.Kind)} listening on {bound}");
            output.Flush();
        }

        switch (settings.Kind)
        {
            case ServerKind.Http:
                await new HttpServer(settings, log).RunAsync(Ready, stop);
                break;
            case ServerKind.SocketEcho:
                await SocketEchoServer.RunAsync(settings, log, Ready, stop);
                break;
            default:
                await new EchoServer(settings, log).RunAsync(Ready, stop);
                break;
        }
        return Program.Success;
    }

    private static string Name(ServerKind kind) => kind switch
    {
        ServerKind.Http => "http (ring)",
        ServerKind.SocketEcho => "echo (socket)",
        _ => "echo (ring)",
    };
}
