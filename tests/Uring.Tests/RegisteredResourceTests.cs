namespace Uring.Tests;

/// <summary>Registered (fixed) files and buffers: slot allocation and release, fixed read/write, fixed send.</summary>
public sealed class RegisteredResourceTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private readonly Ring _ring = new();
    private readonly TestFiles _files = new();
    private readonly LoopbackConnections _net = new();

    public void Dispose()
    {
        _ring.Dispose();
        _files.Dispose();
        _net.Dispose();
    }

    private static Task<T> Bounded<T>(CancelableFuture<T> f) => f.AsTask().WaitAsync(Limit);

    [Fact]
    public async Task Fixed_write_and_read_through_a_registered_file_and_registered_buffers()
    {
        using var files = _ring.RegisterFiles(4);
        using var buffers = _ring.RegisterBuffers(4);
        var fd = await Bounded(_ring.OpenAt(Ring.CurrentDirectory, _files.PathOf("fixed.bin"), OpenFlags.ReadWrite | OpenFlags.Create));
        var file = files.Register(fd);
        Assert.Equal(3, files.FreeSlots);
        Assert.Equal(0, await Bounded(_ring.Close(fd))); // the table holds its own reference

        var output = buffers.Allocate(8192);
        var input = buffers.Allocate(8192);
        Assert.Equal(2, buffers.FreeSlots);
        Assert.NotEqual(output.Index, input.Index);
        for (var i = 0; i < 8192; i++)
            output.Memory.Span[i] = (byte)(i ^ 0x5A);

        var (written, back) = await Bounded(_ring.WriteFixed(file, output, 4096));
        Assert.Equal(8192, written);
        Assert.Same(output.Memory, back);
        var (read, _) = await Bounded(_ring.ReadFixed(file, input, 4096 + 100, 1000));
        Assert.Equal(1000, read);
        Assert.True(input.Memory.Span[..1000].SequenceEqual(output.Memory.Span[100..1100]));

        // Releasing: the slots come back and a released file slot no longer works.
        output.Memory.Dispose();
        input.Memory.Dispose();
        Assert.Equal(4, buffers.FreeSlots);
        files.Release(file);
        Assert.Equal(4, files.FreeSlots);
        var spare = buffers.Allocate(16);
        Assert.Throws<ArgumentException>(() => _ring.ReadFixed(file, spare, 0));
        spare.Memory.Dispose();
        Assert.Throws<InvalidOperationException>(() => files.Release(file));
    }

    [Fact]
    public async Task Fixed_buffers_with_a_plain_fd_and_slot_exhaustion()
    {
        using var buffers = _ring.RegisterBuffers(2);
        var a = buffers.Allocate(4096);
        var b = buffers.Allocate(4096);
        Assert.Throws<InvalidOperationException>(() => buffers.Allocate(4096));
        Assert.Throws<InvalidOperationException>(() => _ring.RegisterBuffers(1)); // one table per ring
        b.Memory.Dispose();
        var c = buffers.Allocate(100);
        Assert.Equal(b.Index, c.Index); // the freed slot is reused

        var path = _files.CreatePatterned("plain.bin", 4096);
        var fd = await Bounded(_ring.OpenAt(Ring.CurrentDirectory, path, OpenFlags.ReadOnly));
        try
        {
            var (n, _) = await Bounded(_ring.ReadFixed(fd, a, 0));
            Assert.Equal(4096, n);
            Assert.True(a.Memory.Span.SequenceEqual(File.ReadAllBytes(path)));
            // A buffer that is not (or no longer) registered is refused before submission.
            Assert.Throws<ArgumentException>(() => _ring.ReadFixed(fd, new RegisteredBuffer(a.Index, c.Memory), 0));
        }
        finally
        {
            await _ring.Close(fd);
            a.Memory.Dispose();
            c.Memory.Dispose();
        }
    }

    [Fact]
    public async Task Send_and_receive_on_registered_sockets_and_zero_copy_send_from_a_registered_buffer()
    {
        using var files = _ring.RegisterFiles(8);
        using var buffers = _ring.RegisterBuffers(2);
        var (client, server) = await _net.ConnectAsync(_ring);
        var clientSlot = files.Register(client);
        var serverSlot = files.Register(server);

        using var plain = OwnershipMemory.Allocate(64);
        "fixed file send"u8.CopyTo(plain.Span);
        var (sent, _) = await Bounded(_ring.Send(clientSlot, plain, 15));
        Assert.Equal(15, sent);
        using var into = OwnershipMemory.Allocate(64);
        var (got, _) = await Bounded(_ring.Receive(serverSlot, into));
        Assert.Equal("fixed file send", System.Text.Encoding.ASCII.GetString(into.Span[..got]));

        var registered = buffers.Allocate(32 * 1024);
        registered.Memory.Span.Fill(0xC3);
        var notificationsBefore = _ring.ZeroCopyNotifications;
        var (zc, back) = await Bounded(_ring.SendZeroCopyFixed(client, registered));
        Assert.Equal(32 * 1024, zc);
        Assert.Same(registered.Memory, back);
        Assert.Equal(notificationsBefore + 1, _ring.ZeroCopyNotifications);
        var total = 0;
        var data = new byte[32 * 1024];
        while (total < data.Length)
            total += Native.ReadSome(server, data.AsSpan(total));
        Assert.All(data, x => Assert.Equal(0xC3, x));
        registered.Memory.Dispose();

        files.Release(clientSlot);
        files.Release(serverSlot);
    }
}
