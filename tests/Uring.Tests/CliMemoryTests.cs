using System.Diagnostics;
using Uring.Cli;

namespace Uring.Tests;

/// <summary>cp's buffer memory, measured with the façade's process-wide native memory count (so alone).</summary>
[Collection(SerialCollection.Name)]
public sealed class CliMemoryTests : IDisposable
{
    private readonly TestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task Cp_allocates_no_more_buffer_memory_than_the_file_needs()
    {
        var src = _files.PathOf("one-megabyte");
        var data = new byte[1_000_000];
        new Random(5).NextBytes(data);
        File.WriteAllBytes(src, data);
        var dst = _files.PathOf("copy");

        // Sample the façade's live native bytes on another thread for the whole copy.
        var before = NativeMemoryStatistics.LiveBytes;
        long peak = before;
        using var done = new CancellationTokenSource();
        var sampler = Task.Factory.StartNew(() =>
        {
            while (!done.IsCancellationRequested)
            {
                var now = NativeMemoryStatistics.LiveBytes;
                if (now > peak)
                    peak = now;
                Thread.SpinWait(20);
            }
        }, TaskCreationOptions.LongRunning);
        var result = await CopyCommand.CopyAsync(src, dst, new CopyOptions(Depth: 16, BlockSize: 16 << 20)).WaitAsync(TimeSpan.FromSeconds(30));
        done.Cancel();
        await sampler.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(data, File.ReadAllBytes(dst));
        Assert.Equal(1, result.Buffers);
        Assert.Equal(1_003_520, result.BufferSize); // the file's size rounded up to a page, not 16 MiB
        var extra = peak - before;
        Assert.True(extra < 4 << 20, $"the copy of 1 MB held {extra} bytes of native memory at its peak (--depth 16 --block-size 16M)");
    }
}
