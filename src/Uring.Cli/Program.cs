namespace Uring.Cli;

/// <summary>Entry point of the <c>uring</c> tool: <c>uring probe</c> and <c>uring cp SRC DST</c>.</summary>
public static class Program
{
    /// <summary>Runs a command; returns the process exit code.</summary>
    public static async Task<int> Main(string[] args)
    {
        try
        {
            return args switch
            {
                ["probe"] => ProbeCommand.Run(Console.Out),
                ["cp", .. var rest] => await CopyCommand.RunAsync(rest, Console.Out),
                ["serve", .. var rest] => await ServeCommand.RunAsync(rest, Console.Out), // sample servers (ServeCommand.cs)
                ["--help" or "-h" or "help"] => Usage(Console.Out, 0),
                _ => Usage(Console.Error, 2),
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            Console.Error.WriteLine($"uring: {e.Message}");
            return 1;
        }
    }

    private static int Usage(TextWriter w, int code)
    {
        w.WriteLine("usage: uring probe");
        w.WriteLine("       uring cp [--depth N] [--block-size BYTES] SRC DST");
        w.WriteLine("       uring serve echo|http [--port N] [--address IP] [--engine ring|socket]");
        w.WriteLine();
        w.WriteLine("  probe   kernel version, ring features and the opcodes the running kernel supports");
        w.WriteLine("  cp      copy SRC to DST through io_uring with N buffers in flight (default 8 x 128 KiB)");
        w.WriteLine("  serve   echo or HTTP hello server on 127.0.0.1:8000 by default (Ctrl+C stops it)");
        return code;
    }
}
