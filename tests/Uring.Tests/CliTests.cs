using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Uring.Cli;

namespace Uring.Tests;

/// <summary>The <c>uring</c> command-line tool: in-process, and the built <c>uring.dll</c> as a user runs it.</summary>
public sealed class CliTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly TestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string RandomFile(string name, int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        var path = _files.PathOf(name);
        File.WriteAllBytes(path, data);
        return path;
    }

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private string[] TemporaryFilesIn(string directory) => Directory.GetFiles(directory, ".*.uring-*.tmp");

    [Theory]
    [InlineData(0, 1, 4096)]
    [InlineData(1, 1, 4096)]
    [InlineData(5_000_123, 4, 65536)]
    [InlineData(3_000_000, 16, 4096)]
    public async Task Cp_copies_bit_for_bit(int length, int depth, int blockSize)
    {
        var src = length == 0 ? _files.PathOf("empty") : RandomFile($"src-{length}", length);
        if (length == 0) File.WriteAllBytes(src, Array.Empty<byte>());
        var dst = _files.PathOf($"dst-{length}");
        File.WriteAllText(dst, "stale content that must be replaced");
        var output = new StringWriter();
        Assert.Equal(0, await CopyCommand.RunAsync(src, dst, new CopyOptions(depth, blockSize), output));
        Assert.Equal(Sha256(src), Sha256(dst));
        Assert.Contains($"copied {length} bytes", output.ToString());
        Assert.Empty(TemporaryFilesIn(Path.GetDirectoryName(dst)!));
    }

    [Fact]
    public async Task Cp_of_a_missing_file_fails_with_ENOENT()
    {
        var e = await Assert.ThrowsAsync<CommandException>(() => CopyCommand.CopyAsync(_files.PathOf("nope"), _files.PathOf("out"), new CopyOptions(2, 4096)));
        Assert.Contains("ENOENT", e.Message);
        Assert.False(File.Exists(_files.PathOf("out")));
    }

    [Fact]
    public void Built_uring_binary_copies_and_probes()
    {
        var src = RandomFile("bin-src", 2_345_678);
        var dst = _files.PathOf("bin-dst");
        var (code, stdout, stderr) = RunTool("cp", src, dst);
        Assert.True(code == 0, stderr);
        Assert.Contains("copied 2345678 bytes", stdout);
        Assert.Equal(Sha256(src), Sha256(dst));

        (code, stdout, stderr) = RunTool("probe");
        Assert.True(code == 0, stderr);
        Assert.Contains("Linux " + Ring.KernelRelease, stdout);
        Assert.Contains("| IORING_OP_READ ", stdout);
        Assert.Contains("IORING_FEAT_NODROP", stdout);

        (code, _, stderr) = RunTool("cp", _files.PathOf("missing"), dst);
        Assert.Equal(1, code);
        Assert.Contains("ENOENT", stderr);
        (code, _, _) = RunTool("bogus");
        Assert.Equal(2, code);
        (code, stdout, _) = RunTool("--help");
        Assert.Equal(0, code);
        Assert.Contains("serve", stdout);
    }

    /// <summary>Bad command lines: exit code 2, one message naming the problem, never a stack trace.</summary>
    [Theory]
    [InlineData("--depth", "cp --depth abc SRC DST")]
    [InlineData("--depth", "cp --depth 99999999999 SRC DST")]
    [InlineData("--depth", "cp --depth 2147483647 SRC DST")]
    [InlineData("--depth", "cp --depth 0 SRC DST")]
    [InlineData("--block-size", "cp --block-size 2147483647 SRC DST")]
    [InlineData("--block-size", "cp --block-size -5 SRC DST")]
    [InlineData("--max-bytes", "cp --max-bytes lots SRC DST")]
    [InlineData("in flight", "cp --depth 64 --block-size 16M SRC DST")]
    [InlineData("Required argument missing", "cp SRC")]
    [InlineData("--port", "serve echo --port abc")]
    [InlineData("--port", "serve http --port 70000")]
    [InlineData("--address", "serve echo --address 999.1.1.1")]
    [InlineData("--address", "serve http --address 1")]
    [InlineData("--buffers", "serve echo --buffers 3")]
    [InlineData("--buffers", "serve echo --buffers 32768 --buffer-size 1M")]
    [InlineData("--header-timeout", "serve http --header-timeout soon")]
    [InlineData("--engine", "serve echo --engine epoll")]
    [InlineData("bogus", "bogus")]
    public void Bad_command_lines_are_usage_errors(string mentioned, string commandLine)
    {
        var (code, stdout, stderr) = RunTool(commandLine.Split(' ').Select(a => a.Replace("SRC", "/etc/hostname").Replace("DST", _files.PathOf("never"))).ToArray());
        Assert.True(code == 2, $"exit code {code}\n{stdout}\n{stderr}");
        Assert.Contains(mentioned, stderr);
        Assert.StartsWith("uring: ", stderr);
        Assert.DoesNotContain("Unhandled exception", stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.False(File.Exists(_files.PathOf("never")));
    }

    [Fact]
    public void Probe_prints_a_table_of_opcodes()
    {
        var output = new StringWriter();
        Assert.Equal(0, ProbeCommand.Run(output));
        var text = output.ToString();
        Assert.Contains("kernel", text);
        Assert.Contains("| IORING_OP_NOP ", text);
        Assert.Matches(@"opcodes: \d+ of \d+ supported", text);
    }

    [Fact]
    public async Task Cp_refuses_to_copy_a_file_onto_itself()
    {
        var src = RandomFile("self", 10_000);
        var hash = Sha256(src);
        var e = await Assert.ThrowsAsync<CommandException>(() => CopyCommand.CopyAsync(src, src, new CopyOptions(2, 4096)));
        Assert.Contains("same file", e.Message);
        Assert.Equal(hash, Sha256(src)); // not truncated
    }

    [Fact]
    public void Cp_reads_files_without_a_size_to_the_end()
    {
        // /proc files report size 0 in statx.
        var dst = _files.PathOf("version");
        var (code, stdout, stderr) = RunTool("cp", "/proc/version", dst);
        Assert.True(code == 0, stderr);
        var expected = File.ReadAllBytes("/proc/version");
        Assert.True(expected.Length > 0);
        Assert.Equal(expected, File.ReadAllBytes(dst));
        Assert.Contains($"copied {expected.Length} bytes", stdout);
    }

    [Fact]
    public async Task Cp_reads_a_fifo_to_the_end()
    {
        var fifo = _files.PathOf("fifo");
        MakeFifo(fifo);
        var data = new byte[1_500_000];
        new Random(7).NextBytes(data);
        var writer = Task.Run(() => File.WriteAllBytes(fifo, data)); // blocks until cp opens the FIFO
        var dst = _files.PathOf("from-fifo");
        var result = await CopyCommand.CopyAsync(fifo, dst, new CopyOptions()).WaitAsync(Limit);
        await writer.WaitAsync(Limit);
        Assert.Equal(data.Length, result.Bytes);
        Assert.Equal(data, File.ReadAllBytes(dst));
    }

    [Fact]
    public void Cp_refuses_an_endless_device_unless_max_bytes_bounds_it()
    {
        var dst = _files.PathOf("zeros");
        File.WriteAllText(dst, "kept");
        var (code, _, stderr) = RunTool("cp", "/dev/zero", dst);
        Assert.Equal(1, code);
        Assert.Contains("--max-bytes", stderr);
        Assert.Equal("kept", File.ReadAllText(dst));

        (code, var stdout, stderr) = RunTool("cp", "--max-bytes", "1M", "/dev/zero", dst);
        Assert.True(code == 0, stderr);
        Assert.Contains("copied 1048576 bytes", stdout);
        Assert.Contains("stopped at --max-bytes", stdout);
        Assert.Equal(new byte[1 << 20], File.ReadAllBytes(dst));
    }

    [Fact]
    public void Cp_of_a_directory_fails_and_leaves_the_destination_untouched()
    {
        var dst = _files.PathOf("precious");
        File.WriteAllText(dst, "precious content");
        var (code, _, stderr) = RunTool("cp", Path.GetTempPath(), dst);
        Assert.Equal(1, code);
        Assert.Contains("directory", stderr);
        Assert.Equal("precious content", File.ReadAllText(dst));
        Assert.Empty(TemporaryFilesIn(Path.GetDirectoryName(dst)!));
    }

    [Fact]
    public async Task Interrupted_cp_leaves_the_destination_untouched()
    {
        // A FIFO whose writer never stops keeps cp busy until SIGTERM.
        var fifo = _files.PathOf("endless");
        MakeFifo(fifo);
        var dst = _files.PathOf("kept");
        File.WriteAllText(dst, "old content");
        var writerPsi = new ProcessStartInfo("python3") { RedirectStandardError = true };
        writerPsi.ArgumentList.Add("-c");
        writerPsi.ArgumentList.Add("import sys, time\nwith open(sys.argv[1], 'wb') as f:\n    while True:\n        f.write(bytes(65536)); f.flush(); time.sleep(0.01)");
        writerPsi.ArgumentList.Add(fifo);
        using var writer = Process.Start(writerPsi)!;
        using var cp = StartTool("cp", fifo, dst);
        try
        {
            var stderr = cp.StandardError.ReadToEndAsync();
            // Wait until cp has copied something (its temporary file grows), then interrupt it.
            var deadline = Stopwatch.StartNew();
            while (!TemporaryFilesIn(_files.PathOf("")).Any(f => new FileInfo(f).Length > 0))
            {
                Assert.True(deadline.Elapsed < Limit, "cp never started writing");
                Assert.False(cp.HasExited, "cp exited early");
                await Task.Delay(20);
            }
            Assert.Equal(0, Kill(cp.Id, 15 /* SIGTERM */));
            await cp.WaitForExitAsync().WaitAsync(Limit);
            Assert.Equal(130, cp.ExitCode);
            Assert.Contains("interrupted", await stderr);
            Assert.Equal("old content", File.ReadAllText(dst));
            Assert.Empty(TemporaryFilesIn(_files.PathOf("")));
        }
        finally
        {
            if (!cp.HasExited)
                cp.Kill();
            if (!writer.WaitForExit(Limit)) // ends with a broken pipe once cp is gone
                writer.Kill();
        }
    }

    [Fact]
    public void Cp_to_dev_null_succeeds()
    {
        var src = RandomFile("to-null", 300_000);
        var (code, stdout, stderr) = RunTool("cp", src, "/dev/null");
        Assert.True(code == 0, stderr);
        Assert.Contains("copied 300000 bytes", stdout);
    }

    [Fact]
    public async Task Cp_keeps_the_holes_of_a_sparse_file()
    {
        var src = _files.PathOf("sparse");
        var data = new byte[1 << 20];
        new Random(3).NextBytes(data);
        await using (var f = new FileStream(src, FileMode.Create))
        {
            f.SetLength(64L << 20);
            f.Position = 5L << 20;
            f.Write(data);
            f.Position = 40L << 20;
            f.Write(data);
        }
        var dst = _files.PathOf("sparse-copy");
        var (code, stdout, stderr) = RunTool("cp", src, dst);
        Assert.True(code == 0, stderr);
        Assert.Equal(Sha256(src), Sha256(dst));
        Assert.Equal(64L << 20, new FileInfo(dst).Length);
        using var ring = new Ring();
        var allocated = (await ring.Statx(Ring.CurrentDirectory, dst)).Blocks * 512;
        var sourceAllocated = (await ring.Statx(Ring.CurrentDirectory, src)).Blocks * 512;
        Assert.True(allocated <= sourceAllocated + (1 << 20), $"the copy allocates {allocated} bytes, the source {sourceAllocated}");
        Assert.Contains("holes kept sparse", stdout);
    }

    private static void MakeFifo(string path)
    {
        using var p = Process.Start("mkfifo", path)!;
        Assert.True(p.WaitForExit(Limit) && p.ExitCode == 0, $"mkfifo {path} failed");
    }

    internal static Process StartTool(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "uring.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing");
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    /// <summary>Runs the built tool to completion (bounded) and returns its exit code and output.</summary>
    internal static (int Code, string Stdout, string Stderr) RunTool(params string[] args)
    {
        using var p = StartTool(args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(Limit))
        {
            p.Kill();
            Assert.Fail($"uring {string.Join(' ', args)} did not finish within {Limit}");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
