using System.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace Uring.Bench;

/// <summary>4 KiB random reads from a page-cached file at a fixed queue depth.</summary>
internal static class FileReads
{
    public const int BlockSize = 4096;

    /// <summary>Creates (once) a file of random bytes and reads it through so it is cached.</summary>
    public static string PrepareFile(long size)
    {
        var path = Path.Combine(Path.GetTempPath(), $"uring-bench-{size >> 20}M.dat");
        if (!File.Exists(path) || new FileInfo(path).Length != size)
        {
            using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
            var chunk = new byte[1 << 20];
            Random.Shared.NextBytes(chunk);
            for (long written = 0; written < size; written += chunk.Length)
                stream.Write(chunk);
        }
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read))
            stream.CopyTo(Stream.Null);
        return path;
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
            while (Interlocked.Increment(ref issued) <= total)
            {
                var read = await RandomAccess.ReadAsync(handle, buffer, random.NextInt64(blocks) * BlockSize);
                if (read != BlockSize)
                    throw new InvalidOperationException($"short read {read}");
            }
        }
        await Task.WhenAll(Enumerable.Range(0, queueDepth).Select(Worker));
    }
}
