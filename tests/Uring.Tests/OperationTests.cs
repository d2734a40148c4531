using System.Diagnostics;
using System.Text;
using Uring.Bindings;

namespace Uring.Tests;

/// <summary>Every operation of the façade against real files and pipes.</summary>
public sealed class OperationTests : IDisposable
{
    private readonly Ring _ring = new();
    private readonly TestFiles _files = new();

    public void Dispose()
    {
        _ring.Dispose();
        _files.Dispose();
    }

    private int Open(string path, int flags) => _ring.OpenAt(Ring.CurrentDirectory, path, flags).Result;

    [Fact]
    public async Task Nop_completes_with_zero_awaited_and_synchronously()
    {
        Assert.Equal(0, await _ring.Nop());
        Assert.Equal(0, _ring.Nop().Result);
        var f = _ring.Nop();
        Assert.True(f.Wait(TimeSpan.FromSeconds(5)));
        Assert.True(f.IsCompleted);
        Assert.Equal(0, f.Result);
    }

    [Fact]
    public async Task Write_then_read_at_offsets_round_trips()
    {
        var path = _files.PathOf("rw.bin");
        var fd = Open(path, OpenFlags.ReadWrite | OpenFlags.Create);
        using var a = OwnershipMemory.Allocate(4096);
        a.Span.Fill(0xAB);
        var (written, back) = await _ring.Write(fd, a, 8192);
        Assert.Equal(4096, written);
        Assert.Same(a, back);
        Assert.Equal(OwnershipState.User, a.State);

        using var b = OwnershipMemory.Allocate(100);
        var (read, _) = await _ring.Read(fd, b, 8192 + 10, 50);
        Assert.Equal(50, read);
        Assert.True(b.Span[..50].ToArray().All(x => x == 0xAB));
        Assert.True(b.Span[50..].ToArray().All(x => x == 0));

        // Past the end: 0 bytes.
        var (eof, _) = await _ring.Read(fd, b, 1 << 20);
        Assert.Equal(0, eof);
        Assert.Equal(8192 + 4096, new FileInfo(path).Length);
        await _ring.Close(fd);
    }

    [Fact]
    public async Task Offset_minus_one_uses_and_advances_the_file_position()
    {
        var path = _files.CreatePatterned("pos.bin", 10000);
        var fd = Open(path, OpenFlags.ReadOnly);
        using var buf = OwnershipMemory.Allocate(1000);
        for (var chunk = 0; chunk < 3; chunk++)
        {
            var (n, _) = await _ring.Read(fd, buf, Ring.CurrentPosition);
            Assert.Equal(1000, n);
            for (var i = 0; i < n; i++)
                Assert.Equal(TestFiles.PatternByte(chunk * 1000 + i), buf.Span[i]);
        }
        await _ring.Close(fd);
    }

    [Fact]
    public async Task ReadV_and_WriteV_scatter_and_gather()
    {
        var path = _files.PathOf("vec.bin");
        var fd = Open(path, OpenFlags.ReadWrite | OpenFlags.Create);
        var parts = new[] { OwnershipMemory.Allocate(3), OwnershipMemory.Allocate(5), OwnershipMemory.Allocate(7) };
        Encoding.ASCII.GetBytes("abc").CopyTo(parts[0].Span);
        Encoding.ASCII.GetBytes("defgh").CopyTo(parts[1].Span);
        Encoding.ASCII.GetBytes("ijklmno").CopyTo(parts[2].Span);
        var (written, same) = await _ring.WriteV(fd, parts, 0);
        Assert.Equal(15, written);
        Assert.Same(parts, same);
        Assert.Equal("abcdefghijklmno", File.ReadAllText(path));

        var into = new[] { OwnershipMemory.Allocate(10), OwnershipMemory.Allocate(10) };
        var (read, _) = await _ring.ReadV(fd, into, 2);
        Assert.Equal(13, read);
        Assert.Equal("cdefghijkl", Encoding.ASCII.GetString(into[0].Span));
        Assert.Equal("mno", Encoding.ASCII.GetString(into[1].Span[..3]));
        foreach (var m in parts.Concat(into))
            m.Dispose();
        await _ring.Close(fd);
    }

    [Fact]
    public async Task Fsync_and_fdatasync_succeed_on_a_written_file()
    {
        var fd = Open(_files.PathOf("sync.bin"), OpenFlags.WriteOnly | OpenFlags.Create);
        using var buf = OwnershipMemory.Allocate(512);
        await _ring.Write(fd, buf, 0);
        Assert.Equal(0, await _ring.Fsync(fd));
        Assert.Equal(0, await _ring.Fdatasync(fd));
        await _ring.Close(fd);
    }

    [Fact]
    public async Task OpenAt_statx_close()
    {
        var path = _files.CreatePatterned("stat.bin", 12345);
        var fd = await _ring.OpenAt(Ring.CurrentDirectory, path, OpenFlags.ReadOnly);
        Assert.True(fd >= 0);

        var byPath = await _ring.Statx(Ring.CurrentDirectory, path);
        Assert.Equal(12345, byPath.Size);
        Assert.True(byPath.IsRegularFile);
        var info = new FileInfo(path);
        Assert.Equal(info.LastWriteTimeUtc, byPath.ModificationTime.UtcDateTime, TimeSpan.FromMilliseconds(1));

        var byFd = await _ring.Statx(fd, "", 0x1000 /* AT_EMPTY_PATH */);
        Assert.Equal(byPath.Inode, byFd.Inode);

        var dir = await _ring.Statx(Ring.CurrentDirectory, Path.GetDirectoryName(path)!);
        Assert.True(dir.IsDirectory);

        Assert.Equal(0, await _ring.Close(fd));
        var closedAgain = await Assert.ThrowsAsync<UringIOException>(async () => await _ring.Close(Native.ClosedFd()));
        Assert.Equal(9, closedAgain.Errno); // EBADF
        Assert.Equal(io_uring_op.IORING_OP_CLOSE, closedAgain.Opcode);
    }

    [Fact]
    public async Task OpenAt_of_a_missing_file_is_ENOENT()
    {
        var e = await Assert.ThrowsAsync<UringIOException>(async () =>
            await _ring.OpenAt(Ring.CurrentDirectory, _files.PathOf("missing"), OpenFlags.ReadOnly));
        Assert.Equal(2, e.Errno);
        Assert.Equal("ENOENT", e.ErrnoName);
        Assert.Equal(io_uring_op.IORING_OP_OPENAT, e.Opcode);
        Assert.Contains("IORING_OP_OPENAT", e.Message);
    }

    [Fact]
    public async Task Fallocate_extends_the_file()
    {
        var path = _files.PathOf("falloc.bin");
        var fd = Open(path, OpenFlags.ReadWrite | OpenFlags.Create);
        Assert.Equal(0, await _ring.Fallocate(fd, 0, 1 << 20));
        Assert.Equal(1 << 20, new FileInfo(path).Length);
        var st = await _ring.Statx(fd, "", 0x1000);
        Assert.True(st.Blocks * 512 >= 1 << 20);
        await _ring.Close(fd);
    }

    [Fact]
    public async Task Splice_moves_file_to_pipe_to_file_and_tee_duplicates()
    {
        var src = _files.CreatePatterned("splice-src.bin", 3000);
        var dstPath = _files.PathOf("splice-dst.bin");
        var fdIn = Open(src, OpenFlags.ReadOnly);
        var fdOut = Open(dstPath, OpenFlags.WriteOnly | OpenFlags.Create);
        var (r1, w1) = Native.Pipe();
        var (r2, w2) = Native.Pipe();
        try
        {
            Assert.Equal(3000, await _ring.Splice(fdIn, 0, w1, -1, 3000));
            Assert.Equal(3000, await _ring.Tee(r1, w2, 3000));
            Assert.Equal(3000, await _ring.Splice(r1, -1, fdOut, 0, 3000));
            Assert.Equal(File.ReadAllBytes(src), File.ReadAllBytes(dstPath));
            var copy = new byte[4000];
            Assert.Equal(3000, Native.ReadSome(r2, copy));
            Assert.Equal(File.ReadAllBytes(src), copy[..3000]);
        }
        finally
        {
            foreach (var fd in new[] { r1, w1, r2, w2 })
                Native.close(fd);
            await _ring.Close(fdIn);
            await _ring.Close(fdOut);
        }
    }

    [Fact]
    public async Task PollAdd_reports_readability_of_a_pipe()
    {
        var (r, w) = Native.Pipe();
        try
        {
            var poll = _ring.PollAdd(r, PollEvents.In);
            await Task.Delay(20);
            Assert.False(poll.IsCompleted);
            Native.WriteAll(w, "x"u8);
            var events = await poll;
            Assert.True(events.HasFlag(PollEvents.In));
            Assert.True((await _ring.PollAdd(w, PollEvents.Out)).HasFlag(PollEvents.Out));
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public async Task Relative_timeout_fires_after_its_delay()
    {
        var sw = Stopwatch.StartNew();
        Assert.True(await _ring.Timeout(TimeSpan.FromMilliseconds(50)));
        Assert.True(sw.ElapsedMilliseconds >= 45, $"fired after {sw.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Absolute_timeouts_fire_at_their_deadlines()
    {
        var sw = Stopwatch.StartNew();
        Assert.True(await _ring.TimeoutUntil(DateTimeOffset.UtcNow.AddMilliseconds(60)));
        Assert.True(sw.ElapsedMilliseconds >= 50, $"realtime fired after {sw.ElapsedMilliseconds} ms");

        sw.Restart();
        var target = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 20; // +50 ms
        Assert.True(await _ring.TimeoutUntilTimestamp(target));
        Assert.True(Stopwatch.GetTimestamp() >= target);

        // A deadline in the past fires at once.
        Assert.True(await _ring.TimeoutUntil(DateTimeOffset.UtcNow.AddSeconds(-1)));
    }

    [Fact]
    public async Task Count_timeout_completes_early_when_enough_completions_arrive()
    {
        var timeout = _ring.Timeout(TimeSpan.FromSeconds(30), completionCount: 2);
        await _ring.Nop();
        await _ring.Nop();
        Assert.True(timeout.Wait(TimeSpan.FromSeconds(5)));
        Assert.False(timeout.Result);
    }

    [Fact]
    public async Task Read_with_linked_timeout_throws_TimeoutException_on_a_silent_pipe()
    {
        var (r, w) = Native.Pipe();
        using var pool = new OwnershipMemoryPool(64);
        var buf = pool.Rent();
        try
        {
            var sw = Stopwatch.StartNew();
            var e = await Assert.ThrowsAsync<TimeoutException>(async () => await _ring.Read(r, buf, -1, TimeSpan.FromMilliseconds(50)));
            Assert.Contains("IORING_OP_READ", e.Message);
            Assert.True(sw.ElapsedMilliseconds >= 40);
            Assert.Equal(OwnershipState.Pooled, buf.State); // released only after the CQE
            Assert.Equal(1, pool.ReturnCount);

            // With data available the read wins and the timeout does not fire.
            var buf2 = pool.Rent();
            Native.WriteAll(w, "hello"u8);
            var (n, b) = await _ring.Read(r, buf2, -1, TimeSpan.FromSeconds(5));
            Assert.Equal(5, n);
            Assert.Equal("hello", Encoding.ASCII.GetString(b.Span[..5]));
            b.Dispose();
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public async Task Linked_chain_runs_in_order_and_cancels_the_rest_after_a_failure()
    {
        var path = _files.PathOf("chain.bin");
        var fd = Open(path, OpenFlags.ReadWrite | OpenFlags.Create);
        using var data = OwnershipMemory.Allocate(4096);
        data.Span.Fill(7);
        using var back = OwnershipMemory.Allocate(4096);

        using (var chain = _ring.CreateChain())
        {
            var write = chain.Write(fd, data, 0);
            var sync = chain.Fsync(fd);
            var read = chain.Read(fd, back, 0);
            chain.Submit();
            Assert.Equal(4096, (await write).BytesTransferred);
            Assert.Equal(0, await sync);
            Assert.Equal(4096, (await read).BytesTransferred);
        }
        Assert.True(back.Span.ToArray().All(x => x == 7));

        // The first member fails (EBADF on a closed fd): the linked rest is cancelled.
        var closed = Native.ClosedFd();
        using (var chain = _ring.CreateChain())
        {
            var bad = chain.Fsync(closed);
            var next = chain.Nop();
            chain.Submit();
            Assert.Equal(9, (await Assert.ThrowsAsync<UringIOException>(async () => await bad)).Errno);
            var e = await Assert.ThrowsAsync<OperationCanceledException>(async () => await next);
            Assert.Contains("chain", e.Message);
        }

        // A link timeout inside a chain.
        var (r2, w2) = Native.Pipe();
        using var pipeBuf = OwnershipMemory.Allocate(16);
        using (var chain = _ring.CreateChain())
        {
            var slow = chain.Read(r2, pipeBuf);
            var limit = chain.LinkTimeout(TimeSpan.FromMilliseconds(30));
            chain.Submit();
            Assert.True(await limit);
            await Assert.ThrowsAsync<TimeoutException>(async () => await slow);
        }
        Native.close(r2);
        Native.close(w2);
        await _ring.Close(fd);
    }

    [Fact]
    public async Task Caller_thread_ring_is_driven_by_waiting()
    {
        await Task.Yield();
        var t = new Thread(() =>
        {
            using var ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread, Entries = 8 });
            Assert.True(ring.IsOwnerThread);
            var futures = Enumerable.Range(0, 50).Select(_ => ring.Nop()).ToArray();
            foreach (var f in futures)
                Assert.Equal(0, f.Result);
            Assert.True(ring.Timeout(TimeSpan.FromMilliseconds(5)).Result);
            var polled = ring.Nop();
            var spins = 0;
            while (!polled.Wait(TimeSpan.Zero)) // Wait(0) on the owner polls: one non-blocking turn
                Assert.True(++spins < 1000);
            Assert.Equal(0, polled.Result);
            var slow = ring.Timeout(TimeSpan.FromSeconds(10));
            Assert.False(slow.Wait(TimeSpan.FromMilliseconds(20)));
            Assert.Equal(CancelOutcome.Cancelled, slow.Cancel().Result);
            Assert.Throws<OperationCanceledException>(() => slow.Result);
        });
        t.Start();
        t.Join();
    }

    [Fact]
    public void Operations_from_many_threads_all_complete()
    {
        var threads = Enumerable.Range(0, 8).Select(_ => new Thread(() =>
        {
            for (var i = 0; i < 2000; i++)
                Assert.Equal(0, _ring.Nop().Result);
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
    }

    [Fact]
    public async Task Chain_reads_into_a_buffer_and_writes_the_same_buffer_out()
    {
        var src = _files.CreatePatterned("chain-src.bin", 8192);
        var dstPath = _files.PathOf("chain-dst.bin");
        var fdIn = Open(src, OpenFlags.ReadOnly);
        var fdOut = Open(dstPath, OpenFlags.WriteOnly | OpenFlags.Create);
        using var pool = new OwnershipMemoryPool(8192);
        var buffer = pool.Rent();
        using (var chain = _ring.CreateChain())
        {
            var read = chain.Read(fdIn, buffer, 0);
            var write = chain.Write(fdOut, buffer, 0);
            chain.Submit();
            Assert.Equal(8192, (await read).BytesTransferred);
            Assert.Equal(8192, (await write).BytesTransferred);
        }
        Assert.Equal(OwnershipState.User, buffer.State);
        Assert.Equal(File.ReadAllBytes(src), File.ReadAllBytes(dstPath));

        // The read fails: the write is cancelled, and the shared buffer is released once.
        using (var chain = _ring.CreateChain())
        {
            var read = chain.Read(Native.ClosedFd(), buffer, 0);
            var write = chain.Write(fdOut, buffer, 0);
            chain.Submit();
            await Assert.ThrowsAsync<UringIOException>(async () => await read);
            await Assert.ThrowsAsync<OperationCanceledException>(async () => await write);
        }
        Assert.Equal(OwnershipState.Pooled, buffer.State);
        Assert.Equal(1, pool.ReturnCount);
        await _ring.Close(fdIn);
        await _ring.Close(fdOut);
    }
}
