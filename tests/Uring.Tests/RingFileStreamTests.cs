using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Uring.Tests;

/// <summary>
/// <see cref="RingFileStream"/> checked against <see cref="FileStream"/> and <see cref="File"/>
/// byte for byte: reads of every size with short reads at the end, writes at sought positions,
/// truncation, append; and a cancelled read on a pipe.
/// </summary>
public sealed class RingFileStreamTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private readonly Ring _ring = new();
    private readonly TestFiles _files = new();

    public void Dispose()
    {
        _ring.Dispose();
        _files.Dispose();
    }

    [Theory]
    [InlineData(100_003, 4096)]
    [InlineData(4096, 4096)]
    [InlineData(0, 512)]
    [InlineData(70_000, 65_537)]
    public async Task Reads_return_what_FileStream_returns_including_the_short_read_at_the_end(int fileLength, int chunk)
    {
        var path = _files.CreatePatterned("data.bin", fileLength);
        await using var expected = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        await using var stream = new RingFileStream(_ring, path, FileMode.Open, FileAccess.Read);
        Assert.True(stream.CanRead && stream.CanSeek && !stream.CanWrite);
        Assert.Equal(fileLength, stream.Length);
        var a = new byte[chunk];
        var b = new byte[chunk];
        while (true)
        {
            var n = await stream.ReadAsync(a);
            var m = await expected.ReadAsync(b);
            Assert.Equal(m, n);
            Assert.Equal(b.AsSpan(0, m).ToArray(), a.AsSpan(0, n).ToArray());
            Assert.Equal(expected.Position, stream.Position);
            if (n == 0)
                break;
        }
        Assert.Equal(0, await stream.ReadAsync(a)); // still 0 past the end
    }

    [Fact]
    public async Task Seek_Position_and_Length_follow_FileStream()
    {
        var path = _files.CreatePatterned("data.bin", 10_000);
        var bytes = File.ReadAllBytes(path);
        await using var stream = new RingFileStream(_ring, path, FileMode.Open, FileAccess.Read);
        Assert.Equal(9990, stream.Seek(-10, SeekOrigin.End));
        var buffer = new byte[100];
        Assert.Equal(10, await stream.ReadAsync(buffer));
        Assert.Equal(bytes[9990..], buffer[..10]);
        Assert.Equal(10_000, stream.Position);
        stream.Position = 20_000; // beyond the end: reads return 0, like FileStream
        Assert.Equal(0, await stream.ReadAsync(buffer));
        Assert.Equal(4000, stream.Seek(-16_000, SeekOrigin.Current));
        Assert.Equal(100, stream.Read(buffer, 0, 100)); // synchronous
        Assert.Equal(bytes[4000..4100], buffer);
        Assert.Throws<IOException>(() => stream.Seek(-1, SeekOrigin.Begin));
        Assert.Throws<ArgumentOutOfRangeException>(() => stream.Position = -1);
        Assert.Throws<NotSupportedException>(() => stream.Write(buffer, 0, 1));
    }

    [Fact]
    public async Task Writes_at_sought_positions_and_SetLength_give_FileStreams_bytes()
    {
        var ours = _files.PathOf("ours.bin");
        var theirs = _files.PathOf("theirs.bin");
        var random = new Random(12345);
        await using (var stream = new RingFileStream(_ring, ours, FileMode.Create))
        await using (var reference = new FileStream(theirs, FileMode.Create, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0))
        {
            for (var i = 0; i < 40; i++)
            {
                var data = new byte[random.Next(1, 200_000)];
                random.NextBytes(data);
                var position = random.Next(0, 300_000);
                stream.Position = position;
                reference.Position = position;
                if (i % 3 == 0)
                    stream.Write(data, 0, data.Length); // synchronous
                else
                    await stream.WriteAsync(data);
                reference.Write(data);
                Assert.Equal(reference.Position, stream.Position);
                if (i % 10 == 9)
                {
                    var length = random.Next(0, 400_000);
                    stream.SetLength(length);
                    reference.SetLength(length);
                    Assert.Equal(reference.Position, stream.Position);
                }
            }
            stream.Flush(flushToDisk: true);
            Assert.Equal(reference.Length, stream.Length);
        }
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
    }

    [Fact]
    public async Task Append_starts_at_the_end_and_refuses_to_seek_before_it()
    {
        var path = _files.CreatePatterned("log.bin", 1000);
        await using (var stream = new RingFileStream(_ring, path, FileMode.Append, FileAccess.Write))
        {
            Assert.Equal(1000, stream.Position);
            await stream.WriteAsync("tail"u8.ToArray());
            Assert.Throws<IOException>(() => stream.Seek(999, SeekOrigin.Begin));
            Assert.Throws<IOException>(() => stream.SetLength(10));
        }
        Assert.Throws<ArgumentException>(() => new RingFileStream(_ring, path, FileMode.Append, FileAccess.ReadWrite));
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(1004, bytes.Length);
        Assert.Equal("tail", Encoding.ASCII.GetString(bytes, 1000, 4));
    }

    [Fact]
    public async Task CopyToAsync_copies_between_two_ring_streams()
    {
        var source = _files.CreatePatterned("src.bin", 3_000_001);
        var copy = _files.PathOf("copy.bin");
        await using (var input = new RingFileStream(_ring, source, FileMode.Open, FileAccess.Read))
        await using (var output = new RingFileStream(_ring, copy, FileMode.CreateNew, FileAccess.Write))
            await input.CopyToAsync(output);
        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(copy));
    }

    [Fact]
    public async Task A_cancelled_read_on_a_pipe_is_cancelled_in_the_kernel_and_never_writes_the_buffer()
    {
        var (r, w) = Native.Pipe();
        using var writeEnd = new SafeFileHandle(w, ownsHandle: true);
        await using var stream = new RingFileStream(_ring, new SafeFileHandle(r, ownsHandle: true), FileAccess.Read, ownsHandle: true);
        Assert.False(stream.CanSeek);
        Assert.Throws<NotSupportedException>(() => stream.Position);
        Assert.Throws<NotSupportedException>(() => stream.Length);

        var buffer = new byte[64];
        Array.Fill(buffer, (byte)0xCC);
        using var cts = new CancellationTokenSource();
        var read = stream.ReadAsync(buffer, cts.Token);
        await Task.Delay(30);
        Assert.False(read.IsCompleted);
        Assert.Throws<InvalidOperationException>(() => { _ = stream.ReadAsync(new byte[1]); }); // one operation at a time
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.AsTask().WaitAsync(Limit));
        Assert.Equal(0, ManagedLendRegistry.LentRangesOf(buffer));

        // Data written after the cancel goes to the next read, never into the cancelled one's buffer.
        Native.WriteAll(w, "after"u8);
        await Task.Delay(20);
        Assert.True(buffer.All(b => b == 0xCC));
        var next = new byte[16];
        var n = await stream.ReadAsync(next).AsTask().WaitAsync(Limit);
        Assert.Equal("after", Encoding.ASCII.GetString(next, 0, n));
    }

    [Fact]
    public async Task Dispose_closes_an_owned_handle_after_the_in_flight_operations_CQE()
    {
        var (r, w) = Native.Pipe();
        var pipeIdentity = FdTarget(r); // "pipe:[inode]": a reused fd number would point elsewhere
        var readEnd = new SafeFileHandle(r, ownsHandle: true);
        var stream = new RingFileStream(_ring, readEnd, FileAccess.Read, ownsHandle: true);
        var read = stream.ReadAsync(new byte[8]);
        await Task.Delay(20);
        await stream.DisposeAsync();
        Assert.False(readEnd.IsClosed); // disposed, but the read still holds a reference on the handle…
        Assert.Equal(pipeIdentity, FdTarget(r)); // …so the fd lives while the kernel reads from it
        Assert.Throws<ObjectDisposedException>(() => { _ = stream.ReadAsync(new byte[1]); });
        Assert.False(stream.CanRead);
        Native.WriteAll(w, "bye"u8);
        Assert.Equal(3, await read.AsTask().WaitAsync(Limit));
        Assert.True(readEnd.IsClosed);
        Assert.NotEqual(pipeIdentity, FdTarget(r)); // closed with the CQE
        Native.close(w);

        var path = _files.CreatePatterned("keep.bin", 10);
        using var kept = File.OpenHandle(path);
        new RingFileStream(_ring, kept, FileAccess.Read).Dispose();
        Assert.False(kept.IsClosed); // not owned: left open
    }

    private static string? FdTarget(int fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    [Fact]
    public async Task Flush_runs_fsync_through_the_ring_only_when_asked()
    {
        var path = _files.CreatePatterned("f.bin", 10);
        var ring = new Ring();
        using var stream = new RingFileStream(ring, path, FileMode.Open);
        ring.Dispose();
        stream.Flush(); // nothing buffered, nothing to do
        await stream.FlushAsync();
        Assert.Throws<RingDisposedException>(() => stream.Flush(flushToDisk: true)); // it does go through the ring
        stream.FlushToDisk = true;
        Assert.Throws<RingDisposedException>(() => stream.Flush());
        Assert.Throws<RingDisposedException>(() => { _ = stream.FlushAsync(); });

        var (r, w) = Native.Pipe();
        using var pipe = new RingFileStream(_ring, new SafeFileHandle(w, true), FileAccess.Write, ownsHandle: true);
        var e = Assert.Throws<UringIOException>(() => pipe.Flush(flushToDisk: true)); // fsync of a pipe: the kernel's EINVAL
        Assert.Equal(22, e.Errno);
        Native.close(r);
    }

    [Fact]
    public async Task Bad_arguments_are_refused()
    {
        var path = _files.CreatePatterned("b.bin", 10);
        Assert.Throws<ArgumentNullException>(() => new RingFileStream(null!, path, FileMode.Open));
        Assert.Throws<FileNotFoundException>(() => new RingFileStream(_ring, _files.PathOf("missing"), FileMode.Open));
        var closed = File.OpenHandle(path);
        closed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => new RingFileStream(_ring, closed, FileAccess.Read));
        await using var stream = new RingFileStream(_ring, path, FileMode.Open, FileAccess.Read);
        Assert.Throws<ArgumentOutOfRangeException>(() => stream.Read(new byte[4], 2, 3));
        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty));
    }
}
