using System.Diagnostics;
using System.Security.Cryptography;
using Uring.Cli;

namespace Uring.Tests;

/// <summary>The <c>uring</c> command-line tool.</summary>
public sealed class CliTests : IDisposable
{
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
        File.WriteAllText(dst, "stale content that must be truncated away");
        var output = new StringWriter();
        Assert.Equal(0, await CopyCommand.RunAsync(new[] { "--depth", depth.ToString(), "--block-size", blockSize.ToString(), src, dst }, output));
        Assert.Equal(Sha256(src), Sha256(dst));
        Assert.Contains($"copied {length} bytes", output.ToString());
    }

    [Fact]
    public async Task Cp_of_a_missing_file_fails_with_ENOENT()
    {
        var e = await Assert.ThrowsAsync<UringIOException>(() => CopyCommand.CopyAsync(_files.PathOf("nope"), _files.PathOf("out"), 2, 4096));
        Assert.Equal(2, e.Errno);
    }

    [Fact]
    public void Built_uring_binary_copies_and_probes()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "uring.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing");
        var src = RandomFile("bin-src", 2_345_678);
        var dst = _files.PathOf("bin-dst");
        var (code, stdout, stderr) = Run(dll, "cp", src, dst);
        Assert.True(code == 0, stderr);
        Assert.Contains("copied 2345678 bytes", stdout);
        Assert.Equal(Sha256(src), Sha256(dst));

        (code, stdout, stderr) = Run(dll, "probe");
        Assert.True(code == 0, stderr);
        Assert.Contains("Linux " + Ring.KernelRelease, stdout);
        Assert.Contains("| IORING_OP_READ ", stdout);
        Assert.Contains("IORING_FEAT_NODROP", stdout);

        (code, _, stderr) = Run(dll, "cp", _files.PathOf("missing"), dst);
        Assert.Equal(1, code);
        Assert.Contains("ENOENT", stderr);
        (code, _, _) = Run(dll, "bogus");
        Assert.Equal(2, code);
    }

    private static (int Code, string Stdout, string Stderr) Run(string dll, params string[] args)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr);
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
        var e = await Assert.ThrowsAsync<IOException>(() => CopyCommand.CopyAsync(src, src, 2, 4096));
        Assert.Contains("same file", e.Message);
        Assert.Equal(hash, Sha256(src)); // not truncated
    }
}
