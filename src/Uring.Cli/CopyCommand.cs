using System.Diagnostics;

namespace Uring.Cli;

/// <summary>
/// <c>uring cp SRC DST</c>: copies a file through the façade. A fixed number of workers each
/// own one pooled buffer and loop read-at-offset → write-at-offset, so exactly that many
/// buffers are ever lent to the kernel.
/// </summary>
public static class CopyCommand
{
    /// <summary>Parses the arguments and copies; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var depth = 8;
        var blockSize = 128 * 1024;
        var paths = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--depth" when i + 1 < args.Length:
                    depth = int.Parse(args[++i]);
                    break;
                case "--block-size" when i + 1 < args.Length:
                    blockSize = int.Parse(args[++i]);
                    break;
                default:
                    paths.Add(args[i]);
                    break;
            }
        }
        if (paths.Count != 2 || depth < 1 || blockSize < 1)
            throw new ArgumentException("usage: uring cp [--depth N] [--block-size BYTES] SRC DST");

        var stopwatch = Stopwatch.StartNew();
        var bytes = await CopyAsync(paths[0], paths[1], depth, blockSize);
        var seconds = Math.Max(stopwatch.Elapsed.TotalSeconds, 1e-9);
        output.WriteLine($"copied {bytes} bytes in {seconds:F3} s ({bytes / seconds / (1 << 20):F1} MiB/s), {depth} buffers of {blockSize} bytes in flight");
        return 0;
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/>; returns the byte count.</summary>
    public static async Task<long> CopyAsync(string source, string destination, int depth, int blockSize)
    {
        using var ring = new Ring(new RingOptions { Entries = (uint)Math.Max(8, depth * 2) });
        using var pool = new OwnershipMemoryPool(blockSize, 4096, depth);
        var src = await ring.OpenAt(Ring.CurrentDirectory, Path.GetFullPath(source), OpenFlags.ReadOnly);
        var dst = -1;
        try
        {
            var sourceInfo = await ring.Statx(src, "", 0x1000 /* AT_EMPTY_PATH */);
            var size = sourceInfo.Size;
            try
            {
                // Opening the destination truncates it: refuse when it is the source itself.
                var destinationInfo = await ring.Statx(Ring.CurrentDirectory, Path.GetFullPath(destination));
                if (destinationInfo.IsSameFile(sourceInfo))
                    throw new IOException($"'{source}' and '{destination}' are the same file");
            }
            catch (UringIOException e) when (e.Errno == 2 /* ENOENT: a new file */)
            {
            }
            dst = await ring.OpenAt(Ring.CurrentDirectory, Path.GetFullPath(destination), OpenFlags.WriteOnly | OpenFlags.Create | OpenFlags.Truncate, 0x1A4);
            long next = 0;
            var workers = new Task[depth];
            for (var w = 0; w < depth; w++)
                workers[w] = WorkerAsync(ring, pool, src, dst, size, blockSize, () => Interlocked.Add(ref next, blockSize) - blockSize);
            await Task.WhenAll(workers);
            await ring.Fsync(dst);
            return size;
        }
        finally
        {
            await ring.Close(src);
            if (dst >= 0)
                await ring.Close(dst);
        }
    }

    private static async Task WorkerAsync(Ring ring, OwnershipMemoryPool pool, int src, int dst, long size, int blockSize, Func<long> claim)
    {
        var buffer = pool.Rent();
        try
        {
            for (var offset = claim(); offset < size; offset = claim())
            {
                var want = (int)Math.Min(blockSize, size - offset);
                var filled = 0;
                while (filled < want)
                {
                    var part = filled == 0 ? buffer : buffer.Slice(filled, want - filled);
                    var (n, _) = await ring.Read(src, part, offset + filled, want - filled);
                    if (part != buffer)
                        part.Dispose();
                    if (n == 0)
                        throw new IOException($"{src}: unexpected end of file at {offset + filled} (expected {size} bytes)");
                    filled += n;
                }
                var written = 0;
                while (written < filled)
                {
                    var part = written == 0 ? buffer : buffer.Slice(written, filled - written);
                    var (n, _) = await ring.Write(dst, part, offset + written, filled - written);
                    if (part != buffer)
                        part.Dispose();
                    written += n;
                }
            }
        }
        finally
        {
            buffer.Dispose();
        }
    }
}
