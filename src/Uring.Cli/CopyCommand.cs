using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Uring.Cli;

/// <summary>
/// <c>uring cp SRC DST</c>: copies a file through the façade.
/// </summary>
/// <remarks>
/// <para>A regular source of known size is copied by up to <see cref="CopyOptions.Depth"/>
/// workers, each owning one pooled buffer and looping read-at-offset → write-at-offset over the
/// source's data extents (SEEK_DATA/SEEK_HOLE), so holes stay holes; then whatever lies past
/// the size statx reported is read to end of file. Sources whose size statx cannot tell
/// (FIFOs, /proc files, devices) are read sequentially to end of file. A character device
/// (/dev/zero) may never end and is refused unless <see cref="CopyOptions.MaxBytes"/> bounds it.</para>
/// <para>A regular (or missing) destination is written to a temporary file in its directory,
/// fsynced and renamed over it: a failed or interrupted copy leaves an existing destination as
/// it was. The copy is a new file: an existing destination's permission bits are kept, its
/// owner and hard links are not. Other destinations (/dev/null, a FIFO) are written in order,
/// in place, and not fsynced.</para>
/// </remarks>
public static class CopyCommand
{
    public const int MinDepth = 1, MaxDepth = 64, DefaultDepth = 8;
    public const int MinBlockSize = 512, MaxBlockSize = 16 << 20, DefaultBlockSize = 128 << 10;

    /// <summary>The most buffer memory a copy may have in flight (depth × block size).</summary>
    public const long MaxBytesInFlight = 256L << 20;

    private const int AT_EMPTY_PATH = 0x1000;
    private const int S_IFMT = 0xF000, S_IFREG = 0x8000, S_IFDIR = 0x4000, S_IFCHR = 0x2000;
    private const int ENOENT = 2;
    private const int PageSize = 4096;

    /// <summary>Copies and prints one line about it; returns the exit code.</summary>
    public static async Task<int> RunAsync(string source, string destination, CopyOptions options, TextWriter output, CancellationToken stop = default)
    {
        var stopwatch = Stopwatch.StartNew();
        var result = await CopyAsync(source, destination, options, stop);
        var seconds = Math.Max(stopwatch.Elapsed.TotalSeconds, 1e-9);
        var line = string.Create(CultureInfo.InvariantCulture,
            $"copied {result.Bytes} bytes in {seconds:F3} s ({result.Bytes / seconds / (1 << 20):F1} MiB/s), {result.Buffers} buffer{(result.Buffers == 1 ? "" : "s")} of {result.BufferSize} bytes in flight");
        if (result.HoleBytes > 0)
            line += $"; {result.HoleBytes} bytes of holes kept sparse";
        if (result.StoppedAtLimit)
            line += $"; stopped at --max-bytes {options.MaxBytes}";
        output.WriteLine(line);
        return Program.Success;
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/>.</summary>
    /// <exception cref="CommandException">The source or destination cannot be used (missing, a directory, the same file, an endless device without a limit).</exception>
    /// <exception cref="IOException">Reading or writing failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="stop"/> was cancelled; nothing was renamed into place.</exception>
    public static async Task<CopyResult> CopyAsync(string source, string destination, CopyOptions options, CancellationToken stop = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Depth, MinDepth);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Depth, MaxDepth);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BlockSize, MinBlockSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.BlockSize, MaxBlockSize);
        if (options.MaxBytes is < 0)
            throw new ArgumentOutOfRangeException(nameof(options), "MaxBytes must not be negative.");

        using var ring = new Ring(new RingOptions { Entries = (uint)Math.Max(8, options.Depth * 2), ThreadName = "cp ring" });
        var sourcePath = Path.GetFullPath(source);
        var src = await Open(ring, sourcePath, OpenFlags.ReadOnly, 0, $"cannot open '{source}'");
        var dst = -1;
        string? temporary = null;
        try
        {
            var sourceInfo = await ring.Statx(src, "", AT_EMPTY_PATH);
            var sourceType = sourceInfo.Mode & S_IFMT;
            if (sourceType == S_IFDIR)
                throw new CommandException($"cannot copy '{source}': it is a directory (EISDIR)");
            if (sourceType == S_IFCHR && options.MaxBytes is null)
                throw new CommandException($"cannot copy '{source}': it is a character device, which may never end; give --max-bytes N to copy at most N bytes");

            var (target, targetInfo) = await ResolveDestination(ring, sourcePath, destination);
            if (targetInfo is { } existing && existing.IsSameFile(sourceInfo))
                throw new CommandException($"cannot copy '{source}' to '{destination}': they are the same file");

            var inPlace = targetInfo is { IsRegularFile: false };
            if (inPlace)
            {
                // /dev/null, a FIFO, a device: written in order where it is; a rename cannot replace it.
                dst = await Open(ring, target, OpenFlags.WriteOnly, 0, $"cannot open '{target}' for writing");
            }
            else
            {
                temporary = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.uring-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp");
                // A new file gets the source's permission bits (0666 for a non-file source), less
                // the umask; an existing destination's bits are restored with chmod before the rename.
                var mode = targetInfo is not null ? 0x180u /* 0600 */ : sourceType == S_IFREG ? (uint)(sourceInfo.Mode & 0x1FF) : 0x1B6u /* 0666 */;
                dst = await Open(ring, temporary, OpenFlags.WriteOnly | OpenFlags.Create | OpenFlags.Exclusive, mode, $"cannot create a file next to '{target}'");
            }

            var limit = options.MaxBytes ?? long.MaxValue;
            CopyResult result;
            if (sourceType == S_IFREG && sourceInfo.Size > 0 && !inPlace)
                result = await CopyRegularAsync(ring, src, dst, temporary!, sourceInfo.Size, limit, options, stop);
            else
                result = await CopyStreamAsync(ring, src, dst, !inPlace, limit, options, stop);

            if (!inPlace)
            {
                await ring.Fsync(dst); // only regular files: fsync on /dev/null or a pipe is EINVAL
                await ring.Close(dst);
                dst = -1;
                if (targetInfo is { } kept && OperatingSystem.IsLinux())
                    File.SetUnixFileMode(temporary!, (UnixFileMode)(kept.Mode & 0xFFF));
                FileNative.Rename(temporary!, target);
                temporary = null;
                await SyncDirectory(ring, Path.GetDirectoryName(target)!);
            }
            return result with { Destination = target };
        }
        finally
        {
            if (dst >= 0)
                await ring.Close(dst);
            await ring.Close(src);
            if (temporary is not null)
                File.Delete(temporary);
        }
    }

    /// <summary>The file to write: DST, or DST/name-of-SRC when DST is a directory; its statx when it exists (symbolic links followed).</summary>
    private static async Task<(string Path, StatxResult? Info)> ResolveDestination(Ring ring, string sourcePath, string destination)
    {
        var target = Path.GetFullPath(destination);
        var info = await TryStatx(ring, target);
        if (info is { IsDirectory: true })
        {
            target = Path.Combine(target, Path.GetFileName(Path.TrimEndingDirectorySeparator(sourcePath)));
            info = await TryStatx(ring, target);
            if (info is { IsDirectory: true })
                throw new CommandException($"cannot copy to '{target}': it is a directory (EISDIR)");
        }
        else if (destination.EndsWith('/'))
        {
            throw new CommandException($"cannot copy to '{destination}': no such directory");
        }
        // Write through a symbolic link, as cp does: the temporary file goes next to its target.
        if (info is not null && new FileInfo(target).ResolveLinkTarget(returnFinalTarget: true) is { } linked)
            target = linked.FullName;
        return (target, info);
    }

    private static async Task<StatxResult?> TryStatx(Ring ring, string path)
    {
        try
        {
            return await ring.Statx(Ring.CurrentDirectory, path);
        }
        catch (UringIOException e) when (e.Errno == ENOENT)
        {
            return null;
        }
    }

    private static async Task<int> Open(Ring ring, string path, int flags, uint mode, string what)
    {
        try
        {
            return await ring.OpenAt(Ring.CurrentDirectory, path, flags, mode);
        }
        catch (UringIOException e)
        {
            throw new CommandException($"{what}: {Marshal.GetPInvokeErrorMessage(e.Errno)} ({e.ErrnoName})");
        }
    }

    private static async Task SyncDirectory(Ring ring, string directory)
    {
        // Makes the rename durable. Best effort: some file systems refuse fsync on a directory.
        try
        {
            var fd = await ring.OpenAt(Ring.CurrentDirectory, directory, OpenFlags.ReadOnly | OpenFlags.Directory);
            try
            {
                await ring.Fsync(fd);
            }
            finally
            {
                await ring.Close(fd);
            }
        }
        catch (UringIOException)
        {
        }
    }

    /// <summary>A regular source: parallel workers over its data extents, then anything past the reported size.</summary>
    private static async Task<CopyResult> CopyRegularAsync(Ring ring, int src, int dst, string dstPath, long reportedSize, long limit, CopyOptions options, CancellationToken stop)
    {
        var size = Math.Min(reportedSize, limit);
        var extents = FileNative.DataExtents(src, size);
        var dataBytes = extents.Sum(e => e.End - e.Start);
        // Never more memory than the data needs: a 5 MB file does not get 8 × 16 MiB.
        var blockSize = (int)Math.Min(options.BlockSize, RoundUpToPage(Math.Max(dataBytes, 1)));
        var blocks = extents.Sum(e => (e.End - e.Start + blockSize - 1) / blockSize);
        var workers = (int)Math.Clamp(blocks, 1, options.Depth);

        using var pool = new OwnershipMemoryPool(blockSize, PageSize, workers);
        var plan = new BlockPlan(extents, blockSize);
        var tasks = new Task[workers];
        for (var w = 0; w < workers; w++)
            tasks[w] = WorkerAsync(ring, pool, src, dst, plan, stop);
        await Task.WhenAll(tasks);

        var length = plan.EndOfFile ?? size;
        var stoppedAtLimit = false;
        if (plan.EndOfFile is null && length < limit)
        {
            // The source may be longer than statx said (it grew, or a file system reports less):
            // read on to end of file.
            length += await CopySequentialAsync(ring, pool, src, dst, length, length, limit - length, stop);
        }
        if (length >= limit && options.MaxBytes is not null)
            stoppedAtLimit = true;
        FileNative.Truncate(dst, length, dstPath); // the holes at the end, or the cut where the source shrank
        var holes = plan.EndOfFile is null ? size - dataBytes : 0;
        return new CopyResult(length, workers, blockSize, holes, stoppedAtLimit, dstPath);
    }

    /// <summary>A source of unknown length (FIFO, /proc file, device): one buffer, read to end of file (or the limit), written in order.</summary>
    private static async Task<CopyResult> CopyStreamAsync(Ring ring, int src, int dst, bool dstSeekable, long limit, CopyOptions options, CancellationToken stop)
    {
        var blockSize = (int)Math.Min(options.BlockSize, RoundUpToPage(Math.Clamp(limit, 1, options.BlockSize)));
        using var pool = new OwnershipMemoryPool(blockSize, PageSize, 1);
        var copied = await CopySequentialAsync(ring, pool, src, dst, Ring.CurrentPosition, dstSeekable ? 0 : Ring.CurrentPosition, limit, stop);
        return new CopyResult(copied, 1, blockSize, 0, copied >= limit, "");
    }

    /// <summary>Reads from <paramref name="readOffset"/> (or the file position) until end of file or <paramref name="limit"/> bytes; returns the count.</summary>
    private static async Task<long> CopySequentialAsync(Ring ring, OwnershipMemoryPool pool, int src, int dst, long readOffset, long writeOffset, long limit, CancellationToken stop)
    {
        var buffer = pool.Rent();
        long copied = 0;
        try
        {
            while (copied < limit)
            {
                stop.ThrowIfCancellationRequested();
                var want = (int)Math.Min(buffer.Length, limit - copied);
                var (n, _) = await ring.Read(src, buffer, readOffset < 0 ? Ring.CurrentPosition : readOffset + copied, want);
                if (n == 0)
                    break;
                await WriteAllAsync(ring, dst, buffer, n, writeOffset < 0 ? Ring.CurrentPosition : writeOffset + copied);
                copied += n;
            }
        }
        finally
        {
            buffer.Dispose();
        }
        return copied;
    }

    private static async Task WorkerAsync(Ring ring, OwnershipMemoryPool pool, int src, int dst, BlockPlan plan, CancellationToken stop)
    {
        OwnershipMemory? buffer = null;
        try
        {
            while (plan.TryClaim(out var offset, out var length))
            {
                stop.ThrowIfCancellationRequested();
                buffer ??= pool.Rent();
                var filled = 0;
                while (filled < length)
                {
                    var part = filled == 0 ? buffer : buffer.Slice(filled, length - filled);
                    var (n, _) = await ring.Read(src, part, offset + filled, length - filled);
                    if (part != buffer)
                        part.Dispose();
                    if (n == 0)
                    {
                        plan.NoteEndOfFile(offset + filled); // the source is shorter than statx said
                        break;
                    }
                    filled += n;
                }
                if (filled > 0)
                    await WriteAllAsync(ring, dst, buffer, filled, offset);
            }
        }
        finally
        {
            buffer?.Dispose();
        }
    }

    private static async Task WriteAllAsync(Ring ring, int dst, OwnershipMemory buffer, int length, long offset)
    {
        var written = 0;
        while (written < length)
        {
            var part = written == 0 ? buffer : buffer.Slice(written, length - written);
            var (n, _) = await ring.Write(dst, part, offset < 0 ? Ring.CurrentPosition : offset + written, length - written);
            if (part != buffer)
                part.Dispose();
            if (n == 0)
                throw new IOException($"the destination accepted no more data after {offset + written} bytes");
            written += n;
        }
    }

    private static long RoundUpToPage(long n) => (n + PageSize - 1) / PageSize * PageSize;

    /// <summary>Hands out the blocks of the data extents in order; workers on several threads claim from it.</summary>
    private sealed class BlockPlan(List<(long Start, long End)> extents, int blockSize)
    {
        private readonly Lock _lock = new();
        private int _extent;
        private long _next = extents.Count > 0 ? extents[0].Start : 0;
        private long? _endOfFile;

        /// <summary>Where a read found end of file before the size statx reported; null while none did.</summary>
        public long? EndOfFile { get { lock (_lock) return _endOfFile; } }

        public bool TryClaim(out long offset, out int length)
        {
            lock (_lock)
            {
                while (_extent < extents.Count && _next >= extents[_extent].End)
                {
                    _extent++;
                    if (_extent < extents.Count)
                        _next = extents[_extent].Start;
                }
                if (_extent >= extents.Count || _next >= _endOfFile)
                {
                    offset = 0;
                    length = 0;
                    return false;
                }
                offset = _next;
                length = (int)Math.Min(blockSize, extents[_extent].End - _next);
                _next += length;
                return true;
            }
        }

        public void NoteEndOfFile(long offset)
        {
            lock (_lock)
                _endOfFile = _endOfFile is { } known ? Math.Min(known, offset) : offset;
        }
    }
}
