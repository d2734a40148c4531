namespace Uring.Tests;

/// <summary><see cref="RingRandomAccess"/> checked against <see cref="RandomAccess"/> byte for byte.</summary>
public sealed class RingRandomAccessTests : IDisposable
{
    private readonly Ring _ring = new();
    private readonly TestFiles _files = new();

    public void Dispose()
    {
        _ring.Dispose();
        _files.Dispose();
    }

    [Theory]
    [InlineData(0, 4096)]
    [InlineData(12_345, 50_000)]
    [InlineData(99_000, 4096)]   // short read at the end
    [InlineData(100_000, 10)]    // at the end: 0
    [InlineData(250_000, 10)]    // past the end: 0
    public async Task Reads_at_an_offset_match_RandomAccess(long offset, int length)
    {
        var path = _files.CreatePatterned("data.bin", 100_000);
        using var handle = File.OpenHandle(path);
        var expected = new byte[length];
        var expectedCount = RandomAccess.Read(handle, expected, offset);
        var viaGiven = new byte[length];
        var viaShared = new byte[length];
        Assert.Equal(expectedCount, await RingRandomAccess.ReadAsync(_ring, handle, viaGiven, offset));
        Assert.Equal(expectedCount, await RingRandomAccess.ReadAsync(handle, viaShared, offset));
        Assert.Equal(expected, viaGiven);
        Assert.Equal(expected, viaShared);
        Assert.Equal(100_000, RingRandomAccess.GetLength(handle));
    }

    [Fact]
    public async Task Writes_at_offsets_match_RandomAccess_including_holes()
    {
        var ours = _files.PathOf("ours.bin");
        var theirs = _files.PathOf("theirs.bin");
        using (var a = File.OpenHandle(ours, FileMode.Create, FileAccess.ReadWrite))
        using (var b = File.OpenHandle(theirs, FileMode.Create, FileAccess.ReadWrite))
        {
            var random = new Random(7);
            for (var i = 0; i < 30; i++)
            {
                var data = new byte[random.Next(1, 300_000)];
                random.NextBytes(data);
                var offset = random.Next(0, 2_000_000);
                await (i % 2 == 0 ? RingRandomAccess.WriteAsync(_ring, a, data, offset) : RingRandomAccess.WriteAsync(a, data, offset));
                RandomAccess.Write(b, data, offset);
                Assert.Equal(0, ManagedLendRegistry.LentRangesOf(data));
            }
            Assert.Equal(RandomAccess.GetLength(b), RingRandomAccess.GetLength(a));
        }
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
    }

    [Fact]
    public async Task Bad_input_is_refused_before_submission_and_the_kernels_errors_are_typed()
    {
        var path = _files.CreatePatterned("d.bin", 100);
        using var readOnly = File.OpenHandle(path);
        Assert.Throws<ArgumentNullException>(() => { _ = RingRandomAccess.ReadAsync(_ring, null!, new byte[1], 0); });
        Assert.Throws<ArgumentNullException>(() => { _ = RingRandomAccess.ReadAsync(null!, readOnly, new byte[1], 0); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = RingRandomAccess.ReadAsync(_ring, readOnly, new byte[1], -1); });
        var closed = File.OpenHandle(path);
        closed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => { _ = RingRandomAccess.WriteAsync(_ring, closed, new byte[1], 0); });
        var e = await Assert.ThrowsAsync<UringIOException>(async () => await RingRandomAccess.WriteAsync(_ring, readOnly, new byte[1], 0));
        Assert.Equal(9, e.Errno); // EBADF: not opened for writing
        Assert.Equal(0, await RingRandomAccess.ReadAsync(_ring, readOnly, Memory<byte>.Empty, 0));
    }
}

/// <summary>What the managed-memory adapters allocate per operation (measured on one thread, a CallerThread ring).</summary>
[Collection(SerialCollection.Name)]
public sealed class ManagedPathAllocationTests : IDisposable
{
    private readonly TestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void RingRandomAccess_and_RingFileStream_reads_allocate_nothing_per_call_in_steady_state()
    {
        using var ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread });
        var path = _files.CreatePatterned("alloc.bin", 64 * 1024);
        using var handle = File.OpenHandle(path);
        using var stream = new RingFileStream(ring, path, FileMode.Open, FileAccess.Read);
        var buffer = new byte[4096];

        int Drive(ValueTask<int> pending)
        {
            while (!pending.IsCompleted)
                ring.RunOnce(TimeSpan.FromSeconds(1));
            return pending.GetAwaiter().GetResult();
        }

        double PerCall(Func<int, int> call)
        {
            for (var i = 0; i < 300; i++)
                call(i);
            var before = GC.GetAllocatedBytesForCurrentThread();
            const int calls = 3000;
            for (var i = 0; i < calls; i++)
                call(i);
            return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)calls;
        }

        var randomAccess = PerCall(i => Drive(RingRandomAccess.ReadAsync(ring, handle, buffer, (i % 16) * 4096L)));
        var streamReads = PerCall(i =>
        {
            stream.Position = (i % 16) * 4096L;
            return Drive(stream.ReadAsync(buffer));
        });
        Assert.True(randomAccess < 1, $"RingRandomAccess.ReadAsync: {randomAccess:F2} B per call");
        Assert.True(streamReads < 1, $"RingFileStream.ReadAsync: {streamReads:F2} B per call");
    }
}
