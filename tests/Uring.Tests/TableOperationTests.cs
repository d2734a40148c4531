using System.Net.Sockets;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Uring.Tests;

/// <summary>
/// The operations added to the table without any hand-written code (each is one table row), and
/// the forms a file can take (int, SafeHandle, Socket, RegisteredFile), checked against the file
/// system and against libc rather than against the façade itself.
/// </summary>
public sealed class TableOperationTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private readonly Ring _ring = new();
    private readonly TestFiles _files = new();

    public void Dispose()
    {
        _ring.Dispose();
        _files.Dispose();
    }

    private static Task<T> Bounded<T>(CancelableFuture<T> future) => future.AsTask().WaitAsync(Limit);

    [Fact]
    public async Task Ftruncate_sets_the_size_through_a_SafeFileHandle()
    {
        var path = _files.PathOf("trunc.bin");
        File.WriteAllBytes(path, new byte[10_000]);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        Assert.Equal(0, await Bounded(_ring.Ftruncate(handle, 1234)));
        Assert.Equal(1234, new FileInfo(path).Length);
        Assert.Equal(0, await Bounded(_ring.Ftruncate(handle, 0)));
        Assert.Equal(0, new FileInfo(path).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => _ring.Ftruncate(handle, -1));
    }

    [Fact]
    public async Task Fadvise_and_SyncFileRange_succeed_on_a_file_and_fail_on_a_pipe()
    {
        var path = _files.PathOf("advise.bin");
        File.WriteAllBytes(path, new byte[8192]);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        Assert.Equal(0, await Bounded(_ring.Fadvise(handle, 0, 8192, 1 /* POSIX_FADV_RANDOM */)));
        Assert.Equal(0, await Bounded(_ring.SyncFileRange(handle, 0, 8192)));
        var (r, w) = Native.Pipe();
        try
        {
            var e = await Assert.ThrowsAsync<UringIOException>(() => Bounded(_ring.Fadvise(r, 0, 0, 0)));
            Assert.Equal(29, e.Errno); // ESPIPE
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public async Task MkdirAt_RenameAt_LinkAt_SymlinkAt_and_UnlinkAt_change_the_file_system()
    {
        var root = _files.PathOf("tree");
        Assert.Equal(0, await Bounded(_ring.MkdirAt(Ring.CurrentDirectory, root)));
        Assert.True(Directory.Exists(root));
        var e = await Assert.ThrowsAsync<UringIOException>(() => Bounded(_ring.MkdirAt(Ring.CurrentDirectory, root)));
        Assert.Equal("EEXIST", e.ErrnoName);

        // Relative to a directory fd given as a SafeHandle.
        File.WriteAllText(Path.Combine(root, "a.txt"), "content");
        using var dir = new SafeFileHandle(Native.open(root, 0x10000 /* O_DIRECTORY */, 0), ownsHandle: true);
        Assert.False(dir.IsInvalid);
        Assert.Equal(0, await Bounded(_ring.RenameAt(dir, "a.txt", dir, "b.txt")));
        Assert.False(File.Exists(Path.Combine(root, "a.txt")));
        Assert.Equal("content", File.ReadAllText(Path.Combine(root, "b.txt")));

        Assert.Equal(0, await Bounded(_ring.LinkAt(dir, "b.txt", dir, "hard.txt")));
        Assert.Equal("content", File.ReadAllText(Path.Combine(root, "hard.txt")));
        Assert.Equal(0, await Bounded(_ring.SymlinkAt("b.txt", dir, "soft.txt")));
        Assert.Equal("b.txt", new FileInfo(Path.Combine(root, "soft.txt")).LinkTarget);

        foreach (var name in new[] { "b.txt", "hard.txt", "soft.txt" })
            Assert.Equal(0, await Bounded(_ring.UnlinkAt(dir, name)));
        Assert.Empty(Directory.EnumerateFileSystemEntries(root));
        Assert.Equal(0, await Bounded(_ring.UnlinkAt(Ring.CurrentDirectory, root, 0x200 /* AT_REMOVEDIR */)));
        Assert.False(Directory.Exists(root));
    }

    [Fact]
    public async Task Pipe_makes_two_connected_close_on_exec_fds()
    {
        var (readFd, writeFd) = await Bounded(_ring.Pipe());
        try
        {
            Assert.NotEqual(readFd, writeFd);
            Assert.True(Native.IsCloseOnExec(readFd) && Native.IsCloseOnExec(writeFd));
            using var data = OwnershipMemory.Allocate(5);
            Encoding.ASCII.GetBytes("hello", data.Span);
            Assert.Equal(5, (await Bounded(_ring.Write(writeFd, data))).BytesTransferred);
            using var into = OwnershipMemory.Allocate(16);
            var (n, _) = await Bounded(_ring.Read(readFd, into));
            Assert.Equal("hello", Encoding.ASCII.GetString(into.Span[..n]));
        }
        finally
        {
            Native.close(readFd);
            Native.close(writeFd);
        }
    }

    [Fact]
    public async Task FixedFdInstall_gives_a_plain_fd_for_a_registered_file()
    {
        var path = _files.PathOf("fixed.txt");
        File.WriteAllText(path, "registered");
        using var table = _ring.RegisterFiles(4);
        var fd = Native.open(path, 0, 0);
        var slot = table.Register(fd);
        Native.close(fd); // the table keeps its own reference
        var installed = await Bounded(_ring.FixedFdInstall(slot));
        try
        {
            using var buffer = OwnershipMemory.Allocate(32);
            var (n, _) = await Bounded(_ring.Read(installed, buffer, 0));
            Assert.Equal("registered", Encoding.ASCII.GetString(buffer.Span[..n]));
        }
        finally
        {
            Native.close(installed);
        }
    }

    [Fact]
    public async Task A_SafeHandle_closed_while_its_operation_is_in_flight_keeps_its_fd_until_the_CQE()
    {
        var (r, w) = Native.Pipe();
        var readEnd = new SafeFileHandle(r, ownsHandle: true);
        using var buffer = OwnershipMemory.Allocate(16);
        var pending = _ring.Read(readEnd, buffer);
        readEnd.Dispose(); // the operation holds a reference: the fd stays open (and its number taken)
        Assert.True(Native.IsOpen(r));
        var reused = Native.open("/dev/null", 0, 0);
        try
        {
            Assert.NotEqual(r, reused); // the number was not handed to another file meanwhile
            Native.WriteByte(w, (byte)'x');
            var (n, _) = await Bounded(pending);
            Assert.Equal(1, n);
            Assert.False(Native.IsOpen(r)); // released with the CQE: the fd is closed now
        }
        finally
        {
            Native.close(reused);
            Native.close(w);
        }
    }

    [Fact]
    public async Task A_closed_SafeHandle_is_refused_before_anything_is_submitted()
    {
        var (r, w) = Native.Pipe();
        Native.close(w);
        var handle = new SafeFileHandle(r, ownsHandle: true);
        handle.Dispose();
        using var buffer = OwnershipMemory.Allocate(16);
        Assert.Throws<ObjectDisposedException>(() => _ring.Read(handle, buffer));
        Assert.Equal(OwnershipState.User, buffer.State);
        Assert.Equal(0, await Bounded(_ring.Nop()));
    }

    [Fact]
    public async Task A_reset_connection_fails_with_ECONNRESET_by_name()
    {
        using var net = new LoopbackConnections();
        var (client, server) = await net.ConnectAsync(_ring);
        using var clientSocket = new Socket(new SafeSocketHandle(client, ownsHandle: false));
        clientSocket.LingerState = new LingerOption(true, 0); // close sends RST
        net.Close(client);
        using var into = OwnershipMemory.Allocate(16);
        var e = await Assert.ThrowsAsync<UringIOException>(() => Bounded(_ring.Receive(server, into)));
        Assert.Equal(104, e.Errno);
        Assert.Equal("ECONNRESET", e.ErrnoName);
        Assert.Contains("ECONNRESET", e.Message);
    }

    [Fact]
    public async Task Operations_take_a_Socket_and_keep_it_referenced()
    {
        using var net = new LoopbackConnections();
        var (client, server) = await net.ConnectAsync(_ring);
        using var clientSocket = new Socket(new SafeSocketHandle(client, ownsHandle: false)); // net closes the fd
        using var data = OwnershipMemory.Allocate(4);
        Encoding.ASCII.GetBytes("ping", data.Span);
        Assert.Equal(4, (await Bounded(_ring.Send(clientSocket, data))).BytesTransferred);
        using var into = OwnershipMemory.Allocate(4);
        var (n, _) = await Bounded(_ring.Receive(server, into));
        Assert.Equal("ping", Encoding.ASCII.GetString(into.Span[..n]));
    }
}
