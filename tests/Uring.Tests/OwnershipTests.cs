namespace Uring.Tests;

/// <summary>OwnershipMemory rules: who may touch it, slices, pools, and release.</summary>
public sealed class OwnershipTests : IDisposable
{
    private readonly Ring _ring = new();

    public void Dispose() => _ring.Dispose();

    [Fact]
    public void Allocation_is_aligned_and_zeroed()
    {
        using var m = OwnershipMemory.Allocate(10000, 4096);
        Assert.Equal(0, m.DangerousGetPointer() % 4096);
        Assert.True(m.Span.ToArray().All(b => b == 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => OwnershipMemory.Allocate(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => OwnershipMemory.Allocate(16, 3));
    }

    [Fact]
    public async Task Buffer_reused_while_in_flight_throws_BufferBusy_everywhere()
    {
        var (r, w) = Native.Pipe();
        using var m = OwnershipMemory.Allocate(64);
        var memory = m.Memory; // taken before submission: re-checked on use
        var read = _ring.Read(r, m, -1, 4);
        Assert.True(m.IsKernelOwned);
        var busy = Assert.Throws<BufferBusyException>(() => _ring.Read(r, m, -1, 4));
        Assert.Contains("IORING_OP_READ", busy.Message);
        Assert.Throws<BufferBusyException>(() => _ring.Write(w, m));
        Assert.Throws<BufferBusyException>(() => m.Span.Length);
        Assert.Throws<BufferBusyException>(() => memory.Span.Length);
        Assert.Throws<BufferBusyException>(() => m.Memory);
        Assert.Throws<BufferBusyException>(() => m.Slice(0, 1));
        Assert.Throws<BufferBusyException>(() => m.Dispose());
        Native.WriteAll(w, "data"u8);
        var (n, back) = await read;
        Assert.Equal(4, n);
        Assert.Same(m, back);
        Assert.Equal((byte)'d', memory.Span[0]);
        Native.close(r);
        Native.close(w);
    }

    [Fact]
    public async Task Slices_lend_part_of_a_block_and_keep_the_root_busy()
    {
        var (r, w) = Native.Pipe();
        using var root = OwnershipMemory.Allocate(100);
        var head = root.Slice(0, 50);
        var tail = root.Slice(50, 50);
        var read = _ring.Read(r, tail, -1, 3);
        Assert.Throws<BufferBusyException>(() => root.Span.Length);
        Assert.Throws<BufferBusyException>(() => root.Dispose());
        Assert.Equal(50, head.Span.Length); // a sibling slice is still the program's
        Native.WriteAll(w, "xyz"u8);
        await read;
        Assert.Equal((byte)'x', root.Span[50]);
        head.Dispose();
        tail.Dispose();
        Assert.Throws<ObjectDisposedException>(() => tail.Span.Length);
        Native.close(r);
        Native.close(w);
    }

    [Fact]
    public void Slice_of_a_disposed_root_is_dead()
    {
        var root = OwnershipMemory.Allocate(100);
        var s = root.Slice(10, 10);
        root.Dispose();
        Assert.Throws<ObjectDisposedException>(() => s.Span.Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => OwnershipMemory.Allocate(10).Slice(5, 6));
    }

    [Fact]
    public void Double_dispose_is_a_typed_error()
    {
        var m = OwnershipMemory.Allocate(16);
        m.Dispose();
        var e = Assert.Throws<ObjectDisposedException>(() => m.Dispose());
        Assert.Contains("double dispose", e.Message);
        Assert.Throws<ObjectDisposedException>(() => m.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => _ring.Write(1, m));
    }

    [Fact]
    public void Pool_reuses_blocks_and_frees_extras()
    {
        OwnershipMemory kept;
        using (var pool = new OwnershipMemoryPool(1024, 512, maxRetained: 1))
        {
            var a = pool.Rent();
            var b = pool.Rent();
            a.Dispose();
            b.Dispose(); // beyond maxRetained: freed
            Assert.Equal(1, pool.IdleCount);
            var c = pool.Rent();
            Assert.Same(a, c);
            Assert.Equal(OwnershipState.User, c.State);
            Assert.Equal(0, c.DangerousGetPointer() % 512);
            Assert.Equal(OwnershipState.Released, b.State); // the extra block was freed
            c.Dispose();
            Assert.Equal(OwnershipState.Pooled, c.State);
            kept = c;
        }
        Assert.Equal(OwnershipState.Released, kept.State); // disposing the pool frees idle blocks
    }

    [Fact]
    public async Task Failed_operation_releases_the_buffer_and_a_later_using_dispose_is_harmless()
    {
        var closed = Native.ClosedFd();
        var m = OwnershipMemory.Allocate(8);
        var e = await Assert.ThrowsAsync<UringIOException>(async () => await _ring.Read(closed, m));
        Assert.Equal(9, e.Errno);
        Assert.Equal(OwnershipState.Released, m.State);
        m.Dispose(); // the owner's using block: no-op once
        Assert.Throws<ObjectDisposedException>(() => m.Dispose());
    }
}
