using System.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace Uring.Bench;

/// <summary>4 KiB random reads from the page-cached data file at a fixed queue depth.</summary>
internal static class FileReads
{
    private const int BlockSize = DataFile.BlockSize;

    /// <summary>Reads the file through once so that it is in the page cache.</summary>
    public static void ReadThrough(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
        stream.CopyTo(Stream.Null);
    }

    /// <summary>.NET's own async file API: RandomAccess.ReadAsync, queueDepth reads outstanding.</summary>
    public static async Task<Measurement> RandomAccessAsync(string path, int queueDepth, long total)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        var blocks = RandomAccess.GetLength(handle) / BlockSize;
        await Warmup.RunAsync(() => Run(handle, blocks, queueDepth, total / 10));
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        await Run(handle, blocks, queueDepth, total);
        var seconds = clock.Elapsed.TotalSeconds;
        var bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        return new Measurement($"4 KiB random read, QD {queueDepth}", "RandomAccess.ReadAsync", total, seconds, (double)bytes / total);
    }

    private static async Task Run(SafeFileHandle handle, long blocks, int queueDepth, long total)
    {
        long issued = 0;
        async Task Worker(int seed)
        {
            var random = new Random(seed);
            var buffer = new byte[BlockSize];
            for (long count = 0; Interlocked.Increment(ref issued) <= total; count++)
            {
                var block = random.NextInt64(blocks);
                var read = await RandomAccess.ReadAsync(handle, buffer, block * BlockSize);
                DataFile.Verify(read, buffer, block, count);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, queueDepth).Select(Worker));
    }
}
