using System.Management.Automation;

namespace Uring.PowerShell;

/// <summary>
/// <c>Read-UringFile</c>: reads whole files through io_uring (openat, statx, reads, close) and
/// writes one byte[] per file.
/// </summary>
[Cmdlet(VerbsCommunications.Read, "UringFile", DefaultParameterSetName = PathSet)]
[OutputType(typeof(byte[]))]
public sealed class ReadUringFileCommand : UringCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";

    /// <summary>Files to read; wildcards allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Files to read, taken as written (no wildcards); Get-ChildItem output binds here.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Bytes per read (default 128 KiB).</summary>
    [Parameter]
    [ValidateRange(1, 1 << 30)]
    public int BlockSize { get; set; } = 128 * 1024;

    /// <summary>Reads each file.</summary>
    protected override void ProcessRecord()
    {
        var literal = ParameterSetName == LiteralPathSet;
        foreach (var given in literal ? LiteralPath : Path)
        {
            foreach (var path in FileSystemPaths.Resolve(this, given, literal))
            {
                byte[] bytes;
                try
                {
                    bytes = ReadAll(path);
                }
                catch (PipelineStoppedException)
                {
                    throw;
                }
                catch (Exception e)
                {
                    WriteUringError(e, path, $"Cannot read '{path}'");
                    continue;
                }
                WriteObject(bytes, enumerateCollection: false);
            }
        }
    }

    private byte[] ReadAll(string path)
    {
        var ring = ActiveRing;
        var fd = Await(ring.OpenAt(Uring.Ring.CurrentDirectory, path, OpenFlags.ReadOnly));
        OwnershipMemory? buffer = null;
        try
        {
            var stat = StatFd(fd);
            // Pipes and character devices have no offsets: read them at the current position.
            var positional = stat.IsRegularFile;
            var expected = positional ? stat.Size : 0;
            var content = new MemoryStream(expected is > 0 and < int.MaxValue ? (int)expected : 0);
            buffer = OwnershipMemory.Allocate(BlockSize);
            var progress = expected > BlockSize
                ? new ProgressReporter(this, 1, "Read-UringFile", $"Reading {path}", expected)
                : null;
            long offset = 0;
            while (true)
            {
                var read = Await(ring.Read(fd, buffer, positional ? offset : Uring.Ring.CurrentPosition));
                if (read.BytesTransferred == 0)
                    break;
                content.Write(buffer.Span[..read.BytesTransferred]);
                offset += read.BytesTransferred;
                progress?.Report(offset);
            }
            progress?.Complete();
            return content.ToArray();
        }
        finally
        {
            DisposeQuietly(buffer);
            CloseQuietly(fd);
        }
    }
}
