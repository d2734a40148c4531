using System.Management.Automation;

namespace Uring.PowerShell;

/// <summary>
/// <c>Copy-UringFile</c>: copies regular files with several reads and writes in flight, each
/// block read into a buffer and written from the same buffer (no copy through managed memory).
/// </summary>
[Cmdlet(VerbsCommon.Copy, "UringFile", DefaultParameterSetName = PathSet, SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class CopyUringFileCommand : UringCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";
    private const int ModeBits = 0xFFF; // permission, setuid/setgid and sticky bits of st_mode

    /// <summary>Files to copy; wildcards allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Files to copy, taken as written; Get-ChildItem output binds here.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>The new file, or an existing directory to copy into.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = "";

    /// <summary>Replace an existing destination file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Write a FileInfo for each copy.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Bytes per read and write (default 128 KiB).</summary>
    [Parameter]
    [ValidateRange(1, 1 << 30)]
    public int BlockSize { get; set; } = 128 * 1024;

    /// <summary>Blocks in flight at once (default 4).</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int Depth { get; set; } = 4;

    /// <summary>Copies each source.</summary>
    protected override void ProcessRecord()
    {
        var destination = FileSystemPaths.ResolveOne(this, Destination);
        if (destination is null)
            return;
        var literal = ParameterSetName == LiteralPathSet;
        foreach (var given in literal ? LiteralPath : Path)
        {
            foreach (var source in FileSystemPaths.Resolve(this, given, literal))
            {
                var target = Directory.Exists(destination)
                    ? System.IO.Path.Combine(destination, System.IO.Path.GetFileName(source))
                    : destination;
                if (!ShouldProcess($"Item: {source} Destination: {target}", "Copy File"))
                    continue;
                try
                {
                    CopyOne(source, target);
                }
                catch (PipelineStoppedException)
                {
                    throw;
                }
                catch (CopyRefusedException e)
                {
                    WriteError(e.Record);
                    continue;
                }
                catch (Exception e)
                {
                    WriteUringError(e, source, $"Cannot copy '{source}' to '{target}'");
                    continue;
                }
                if (PassThru)
                    WriteObject(new FileInfo(target));
            }
        }
    }

    private void CopyOne(string source, string target)
    {
        var ring = ActiveRing;
        var sourceFd = Await(ring.OpenAt(Uring.Ring.CurrentDirectory, source, OpenFlags.ReadOnly));
        try
        {
            var stat = StatFd(sourceFd);
            if (!stat.IsRegularFile)
                throw new CopyRefusedException(new ErrorRecord(
                    new IOException($"Cannot copy '{source}': it is {(stat.IsDirectory ? "a directory" : "not a regular file")}."),
                    stat.IsDirectory ? "SourceIsDirectory" : "SourceNotRegularFile", ErrorCategory.InvalidArgument, source));
            if (IsSameFile(stat, target))
                throw new CopyRefusedException(new ErrorRecord(
                    new IOException($"Cannot copy '{source}' onto itself ('{target}' is the same file)."),
                    "SameFile", ErrorCategory.InvalidArgument, source));

            // Without -Force, O_EXCL lets the kernel refuse an existing destination (EEXIST).
            var flags = OpenFlags.WriteOnly | OpenFlags.Create | (Force ? OpenFlags.Truncate : OpenFlags.Exclusive);
            var targetFd = Await(ring.OpenAt(Uring.Ring.CurrentDirectory, target, flags, (uint)(stat.Mode & ModeBits)));
            var closed = false;
            try
            {
                Pump(sourceFd, targetFd, stat.Size, $"{source} -> {target}");
                closed = true;
                Await(ring.Close(targetFd)); // a write error may surface only here (NFS)
            }
            catch
            {
                if (!closed)
                    CloseQuietly(targetFd);
                TryDelete(target);
                throw;
            }
        }
        finally
        {
            CloseQuietly(sourceFd);
        }
    }

    private bool IsSameFile(StatxResult source, string target)
    {
        try
        {
            return Await(ActiveRing.Statx(Uring.Ring.CurrentDirectory, target)).IsSameFile(source);
        }
        catch (UringIOException)
        {
            return false; // no such file yet (or unreadable: openat will say why)
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private readonly record struct Block(CancelableFuture<BufferResult<OwnershipMemory>> Read, OwnershipMemory Buffer, long Offset, int Length);

    /// <summary>Keeps <see cref="Depth"/> reads in flight; each completed read is written from its
    /// buffer, then the buffer reads the next block. A short read re-reads the rest of its block
    /// (a read of 0 bytes is the end of the file).</summary>
    private void Pump(int sourceFd, int targetFd, long size, string status)
    {
        var ring = ActiveRing;
        var buffers = new List<OwnershipMemory>();
        var inFlight = new Queue<Block>();
        var progress = new ProgressReporter(this, 2, "Copy-UringFile", status, size);
        long next = 0, written = 0;
        var endOfFile = false;
        try
        {
            void StartRead(OwnershipMemory buffer, long offset, int length) =>
                inFlight.Enqueue(new Block(ring.Read(sourceFd, buffer, offset, length), buffer, offset, length));

            for (var i = 0; i < Depth && (i == 0 || next < size); i++)
            {
                var buffer = OwnershipMemory.Allocate(BlockSize);
                buffers.Add(buffer);
                StartRead(buffer, next, BlockSize);
                next += BlockSize;
            }
            while (inFlight.Count > 0)
            {
                var block = inFlight.Peek();
                var count = Await(block.Read).BytesTransferred;
                inFlight.Dequeue();
                if (count == 0)
                {
                    endOfFile = true;
                    continue;
                }
                WriteAll(targetFd, block.Buffer, count, block.Offset);
                written += count;
                progress.Report(written);
                if (count < block.Length)
                    StartRead(block.Buffer, block.Offset + count, block.Length - count);
                else if (!endOfFile)
                {
                    StartRead(block.Buffer, next, BlockSize);
                    next += BlockSize;
                }
            }
            progress.Complete();
        }
        finally
        {
            // On an error or a stop: the kernel must be done with every buffer before it is freed.
            foreach (var block in inFlight)
                CancelAndDrain(block.Read);
            foreach (var buffer in buffers)
                DisposeQuietly(buffer);
        }
    }

    private void WriteAll(int fd, OwnershipMemory buffer, int count, long offset)
    {
        var done = 0;
        while (done < count)
        {
            var part = done == 0 ? buffer : buffer.Slice(done, count - done);
            int n;
            try
            {
                n = Await(ActiveRing.Write(fd, part, offset + done, count - done)).BytesTransferred;
            }
            finally
            {
                if (!ReferenceEquals(part, buffer))
                    DisposeQuietly(part);
            }
            if (n == 0)
                throw new IOException($"A write at offset {offset + done} wrote nothing.");
            done += n;
        }
    }

    /// <summary>A copy refused before anything was written, with the record that says why.</summary>
    private sealed class CopyRefusedException(ErrorRecord record) : Exception(record.Exception.Message)
    {
        public ErrorRecord Record { get; } = record;
    }
}
