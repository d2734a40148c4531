using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;

namespace Uring.Tests;

/// <summary>
/// Lending managed memory (arrays, Memory&lt;byte&gt;, MemoryManager memory) through
/// <see cref="OwnershipMemory.FromMemory"/>: pinned from the submission to the CQE, never longer or
/// shorter, and never lent twice at once.
/// </summary>
public sealed class ManagedMemoryTests : IDisposable
{
    private readonly Ring _ring = new();
    private readonly TestFiles _files = new();

    public void Dispose()
    {
        _ring.Dispose();
        _files.Dispose();
    }

    /// <summary>Native memory behind a MemoryManager that counts its pins, so tests see exactly when the façade pins and unpins.</summary>
    internal sealed unsafe class CountingMemoryManager : MemoryManager<byte>
    {
        private readonly byte* _pointer;
        private readonly int _length;
        private int _pins;

        public CountingMemoryManager(int length)
        {
            _length = length;
            _pointer = (byte*)NativeMemory.AllocZeroed((nuint)length);
        }

        public int Pins => Volatile.Read(ref _pins);

        public override Span<byte> GetSpan() => new(_pointer, _length);

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            Interlocked.Increment(ref _pins);
            return new MemoryHandle(_pointer + elementIndex, default, this);
        }

        public override void Unpin() => Interlocked.Decrement(ref _pins);

        protected override void Dispose(bool disposing) => NativeMemory.Free(_pointer);
    }

    [Fact]
    public async Task An_array_is_read_into_and_written_from_byte_for_byte()
    {
        var path = _files.CreatePatterned("data.bin", 100_000);
        var expected = File.ReadAllBytes(path);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);

        var array = new byte[70_000];
        var wrapper = OwnershipMemory.FromMemory(array.AsMemory(1000, 60_000));
        Assert.True(wrapper.IsManaged);
        var (n, back) = await _ring.Read(file, wrapper, offset: 5);
        Assert.Equal(60_000, n);
        Assert.Same(wrapper, back);
        Assert.Equal(expected.AsSpan(5, 60_000).ToArray(), array.AsSpan(1000, 60_000).ToArray());
        Assert.True(array.AsSpan(0, 1000).IndexOfAnyExcept((byte)0) < 0); // nothing outside the slice
        Assert.True(array.AsSpan(61_000).IndexOfAnyExcept((byte)0) < 0);

        // Written back elsewhere from a read-only wrapper over the same bytes.
        var (written, _) = await _ring.Write(file, OwnershipMemory.FromReadOnlyMemory(array.AsMemory(1000, 60_000)), offset: 100_000);
        Assert.Equal(60_000, written);
        Assert.Equal(expected.AsSpan(5, 60_000).ToArray(), File.ReadAllBytes(path).AsSpan(100_000).ToArray());
        Assert.Equal(0, ManagedLendRegistry.LentRangesOf(array));
    }

    [Fact]
    public async Task The_array_stays_pinned_through_compacting_collections_until_the_CQE()
    {
        var (r, w) = Native.Pipe();
        try
        {
            // A gen-0 array among garbage: a compacting collection would move it if it were not pinned.
            var garbage = new List<byte[]>();
            for (var i = 0; i < 2000; i++)
                garbage.Add(new byte[512]);
            var target = new byte[4096];
            for (var i = 0; i < 2000; i++)
                garbage.Add(new byte[512]);
            var read = _ring.Read(r, OwnershipMemory.FromMemory(target), length: 26);
            garbage.Clear();
            for (var i = 0; i < 3; i++)
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            Assert.False(read.IsCompleted);
            Native.WriteAll(w, "abcdefghijklmnopqrstuvwxyz"u8);
            var (n, _) = await read;
            Assert.Equal(26, n);
            Assert.Equal("abcdefghijklmnopqrstuvwxyz", Encoding.ASCII.GetString(target, 0, 26));
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public async Task Memory_is_pinned_only_between_submission_and_CQE_on_success_failure_and_cancel()
    {
        using var manager = new CountingMemoryManager(64);
        var wrapper = OwnershipMemory.FromMemory(manager.Memory);
        Assert.Equal(0, manager.Pins); // an idle wrapper pins nothing
        var (r, w) = Native.Pipe();
        try
        {
            // success
            var read = _ring.Read(r, wrapper, length: 3);
            Assert.Equal(1, manager.Pins);
            Assert.Throws<BufferBusyException>(() => wrapper.Span.Length);
            Native.WriteAll(w, "xyz"u8);
            await read;
            Assert.Equal(0, manager.Pins);
            Assert.Equal("xyz", Encoding.ASCII.GetString(manager.GetSpan()[..3]));

            // cancel: still pinned until the cancelled read's CQE, unpinned with it
            using var cts = new CancellationTokenSource();
            read = _ring.Read(r, wrapper, cancellationToken: cts.Token);
            await Task.Delay(20);
            Assert.Equal(1, manager.Pins);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await read);
            Assert.Equal(0, manager.Pins);
            Assert.Equal(OwnershipState.Released, wrapper.State);
            wrapper.Dispose(); // the owner's using: a no-op once

            // failure
            var again = OwnershipMemory.FromMemory(manager.Memory);
            await Assert.ThrowsAsync<UringIOException>(async () => await _ring.Read(Native.ClosedFd(), again));
            Assert.Equal(0, manager.Pins);
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
        Assert.Equal(0, ManagedLendRegistry.LentRangesOf(manager));
    }

    [Fact]
    public async Task A_disposed_ring_unpins_only_after_collecting_the_CQE()
    {
        using var manager = new CountingMemoryManager(64);
        var ring = new Ring();
        var (r, w) = Native.Pipe();
        try
        {
            var read = ring.Read(r, OwnershipMemory.FromMemory(manager.Memory));
            await Task.Delay(20);
            Assert.Equal(1, manager.Pins);
            ring.Dispose(); // cancels, and returns once the CQE is in
            Assert.Equal(0, manager.Pins);
            await Assert.ThrowsAsync<RingDisposedException>(async () => await read);
            // Data written now reaches nobody's memory: it is still in the pipe.
            Native.WriteAll(w, "late"u8);
            var got = new byte[8];
            Assert.Equal(4, Native.ReadSome(r, got));
            Assert.True(manager.GetSpan().IndexOfAnyExcept((byte)0) < 0);
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public async Task Overlapping_bytes_of_one_array_cannot_be_lent_twice_but_disjoint_ones_can()
    {
        var (r, w) = Native.Pipe();
        var array = new byte[100];
        try
        {
            var first = OwnershipMemory.FromMemory(array.AsMemory(0, 50));
            var read = _ring.Read(r, first, length: 4);

            var overlapping = OwnershipMemory.FromMemory(array.AsMemory(40, 20));
            var busy = Assert.Throws<BufferBusyException>(() => _ring.Read(r, overlapping));
            Assert.Contains("[40, 50)", busy.Message);
            Assert.Throws<BufferBusyException>(() => _ring.Write(w, OwnershipMemory.FromReadOnlyMemory(array)));
            Assert.Throws<BufferBusyException>(() => _ring.Read(r, first)); // the same wrapper: its own state says so
            Assert.Equal(OwnershipState.User, overlapping.State); // a refused lend takes nothing

            var disjoint = OwnershipMemory.FromMemory(array.AsMemory(50, 50));
            var (sent, _) = await _ring.Write(w, disjoint, length: 8); // another part of the array: fine
            Assert.Equal(8, sent);
            var (n, _) = await read; // the read takes 4 of the 8 bytes just written
            Assert.Equal(4, n);
            Assert.Equal(0, ManagedLendRegistry.LentRangesOf(array));
            var (again, _) = await _ring.Read(r, overlapping, length: 4); // free again
            Assert.Equal(4, again);
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public async Task Read_only_memory_is_refused_where_the_kernel_writes()
    {
        var ro = OwnershipMemory.FromReadOnlyMemory("hello"u8.ToArray());
        Assert.True(ro.IsReadOnly);
        var e = Assert.Throws<ArgumentException>(() => _ring.Read(0, ro));
        Assert.Contains("read-only", e.Message);
        Assert.Throws<ArgumentException>(() => _ring.Receive(0, ro));
        Assert.Throws<ArgumentException>(() => _ring.ReadV(0, [OwnershipMemory.Allocate(8), ro]));
        Assert.Throws<ArgumentException>(() => _ring.ReceiveMessage(0, [ro]));
        Assert.Throws<InvalidOperationException>(() => ro.Span.Length);
        Assert.Throws<InvalidOperationException>(() => ro.Memory);
        Assert.Equal(OwnershipState.User, ro.State);

        var (r, w) = Native.Pipe();
        try
        {
            var (n, _) = await _ring.WriteV(w, [ro, OwnershipMemory.FromReadOnlyMemory(" world"u8.ToArray())]);
            Assert.Equal(11, n);
            var got = new byte[16];
            Assert.Equal("hello world", Encoding.ASCII.GetString(got, 0, Native.ReadSome(r, got)));
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public async Task Memory_of_an_OwnershipMemory_is_not_wrapped_twice_but_sliced()
    {
        using var block = OwnershipMemory.Allocate(64);
        var slice = OwnershipMemory.FromMemory(block.Memory.Slice(8, 16));
        Assert.False(slice.IsManaged);
        Assert.True(slice.IsSlice);
        Assert.Equal(block.DangerousGetPointer() + 8, slice.DangerousGetPointer());
        var (r, w) = Native.Pipe();
        try
        {
            var read = _ring.Read(r, slice);
            Assert.Throws<BufferBusyException>(() => _ring.Read(r, block)); // the block's own rules apply
            Native.WriteAll(w, "0123456789abcdef"u8);
            await read;
            Assert.Equal("0123456789abcdef", Encoding.ASCII.GetString(block.Span.Slice(8, 16)));
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public async Task A_chain_reads_into_managed_memory_and_writes_it_out()
    {
        var source = _files.CreatePatterned("src.bin", 8192);
        var destination = _files.PathOf("dst.bin");
        using var input = File.OpenHandle(source);
        using var output = File.OpenHandle(destination, FileMode.Create, FileAccess.Write);
        var array = new byte[8192];
        var wrapper = OwnershipMemory.FromMemory(array);
        var chain = _ring.CreateChain();
        var read = chain.Read(input, wrapper, 0);
        var write = chain.Write(output, wrapper, 0);
        chain.Submit();
        Assert.Equal(8192, (await read).BytesTransferred);
        Assert.Equal(8192, (await write).BytesTransferred);
        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(destination));
        Assert.Equal(0, ManagedLendRegistry.LentRangesOf(array));
    }

    [Fact]
    public async Task Empty_memory_lends_nothing_and_idle_managed_memory_has_no_address()
    {
        var empty = OwnershipMemory.FromMemory(Memory<byte>.Empty);
        Assert.Equal(0, empty.Length);
        Assert.Throws<InvalidOperationException>(() => OwnershipMemory.FromMemory(new byte[4]).DangerousGetPointer());
        var (r, w) = Native.Pipe();
        try
        {
            Native.WriteAll(w, "x"u8);
            var (n, _) = await _ring.Read(r, empty);
            Assert.Equal(0, n);
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public void A_reused_managed_wrapper_allocates_nothing_per_operation()
    {
        using var ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread });
        var path = _files.CreatePatterned("small.bin", 4096);
        using var file = File.OpenHandle(path);
        var array = new byte[4096];
        var wrapper = OwnershipMemory.FromMemory(array);
        for (var i = 0; i < 200; i++) // warm up: JIT, pools, the registry's tables
            _ = ring.Read(file, wrapper, 0).Result;
        var before = GC.GetAllocatedBytesForCurrentThread();
        const int operations = 2000;
        for (var i = 0; i < operations; i++)
            _ = ring.Read(file, wrapper, 0).Result;
        var perOperation = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)operations;
        Assert.True(perOperation < 1, $"{perOperation:F2} B allocated per read into a reused managed wrapper");
        Assert.Equal(TestFiles.PatternByte(4095), array[4095]);
    }

    [Fact]
    public void Batches_lend_managed_memory_too_and_refuse_read_only_memory_where_the_kernel_writes()
    {
        using var ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread });
        var path = _files.CreatePatterned("batch.bin", 8192);
        using var handle = File.OpenHandle(path);
        using var batch = ring.CreateBatch(4);
        var array = new byte[8192];
        batch.Read(handle, OwnershipMemory.FromMemory(array.AsMemory(0, 4096)), 4096, tag: 1);
        batch.Read(handle, OwnershipMemory.FromMemory(array.AsMemory(4096)), 0, tag: 2);
        Assert.Throws<BufferBusyException>(() => batch.Read(handle, OwnershipMemory.FromMemory(array.AsMemory(4000, 200)), 0, tag: 3));
        var e = Assert.Throws<ArgumentException>(() => batch.Read(handle, OwnershipMemory.FromReadOnlyMemory(new byte[16]), 0, tag: 4));
        Assert.Contains("read-only", e.Message);
        var completions = new BatchCompletion[4];
        var got = 0;
        while (got < 2)
            got += batch.Complete(completions.AsSpan(got), 2 - got);
        var expected = File.ReadAllBytes(path);
        Assert.Equal(expected[4096..], array[..4096]);
        Assert.Equal(expected[..4096], array[4096..]);
        Assert.Equal(0, ManagedLendRegistry.LentRangesOf(array));
    }
}
