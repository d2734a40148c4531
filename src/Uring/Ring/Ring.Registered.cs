using System.Net.Sockets;
using Uring.Bindings;

namespace Uring;

// Registered (fixed) files and buffers, and the operations that use them.
public sealed unsafe partial class Ring
{
    private RegisteredFileTable? _fileTable;
    private RegisteredBufferTable? _bufferTable;

    /// <summary>The registered file table, once <see cref="RegisterFiles"/> created it.</summary>
    public RegisteredFileTable? FileTable => Volatile.Read(ref _fileTable);

    /// <summary>The registered buffer table, once <see cref="RegisterBuffers"/> created it.</summary>
    public RegisteredBufferTable? BufferTable => Volatile.Read(ref _bufferTable);

    /// <summary>Creates the ring's registered file table with <paramref name="capacity"/> empty slots.</summary>
    /// <exception cref="InvalidOperationException">The ring already has one.</exception>
    public RegisteredFileTable RegisterFiles(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        if (FileTable is not null)
            throw new InvalidOperationException("This ring already has a registered file table.");
        var table = new RegisteredFileTable(this, capacity);
        if (Interlocked.CompareExchange(ref _fileTable, table, null) is not null)
        {
            table.Dispose();
            throw new InvalidOperationException("This ring already has a registered file table.");
        }
        return table;
    }

    /// <summary>Creates the ring's registered buffer table with <paramref name="capacity"/> empty slots.</summary>
    /// <exception cref="InvalidOperationException">The ring already has one.</exception>
    public RegisteredBufferTable RegisterBuffers(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        if (BufferTable is not null)
            throw new InvalidOperationException("This ring already has a registered buffer table.");
        var table = new RegisteredBufferTable(this, capacity);
        if (Interlocked.CompareExchange(ref _bufferTable, table, null) is not null)
        {
            table.Dispose();
            throw new InvalidOperationException("This ring already has a registered buffer table.");
        }
        return table;
    }

    internal void ForgetFileTable(RegisteredFileTable table) => Interlocked.CompareExchange(ref _fileTable, null, table);

    internal void ForgetBufferTable(RegisteredBufferTable table) => Interlocked.CompareExchange(ref _bufferTable, null, table);

    /// <summary>IORING_OP_READ_FIXED from <paramref name="fd"/> at <paramref name="offset"/> into a registered buffer.</summary>
    public CancelableFuture<BufferResult<OwnershipMemory>> ReadFixed(int fd, RegisteredBuffer buffer, long offset, int length = -1, CancellationToken cancellationToken = default) =>
        Start(BuildFixed(io_uring_op.IORING_OP_READ_FIXED, fd, buffer, offset, length), cancellationToken);

    /// <summary>IORING_OP_READ_FIXED from a registered file into a registered buffer.</summary>
    public CancelableFuture<BufferResult<OwnershipMemory>> ReadFixed(RegisteredFile file, RegisteredBuffer buffer, long offset, int length = -1, CancellationToken cancellationToken = default) =>
        Start(UseRegisteredFile(BuildFixed(io_uring_op.IORING_OP_READ_FIXED, 0, buffer, offset, length), file), cancellationToken);

    /// <summary>IORING_OP_WRITE_FIXED of a registered buffer to <paramref name="fd"/> at <paramref name="offset"/>.</summary>
    public CancelableFuture<BufferResult<OwnershipMemory>> WriteFixed(int fd, RegisteredBuffer buffer, long offset, int length = -1, CancellationToken cancellationToken = default) =>
        Start(BuildFixed(io_uring_op.IORING_OP_WRITE_FIXED, fd, buffer, offset, length), cancellationToken);

    /// <summary>IORING_OP_WRITE_FIXED of a registered buffer to a registered file.</summary>
    public CancelableFuture<BufferResult<OwnershipMemory>> WriteFixed(RegisteredFile file, RegisteredBuffer buffer, long offset, int length = -1, CancellationToken cancellationToken = default) =>
        Start(UseRegisteredFile(BuildFixed(io_uring_op.IORING_OP_WRITE_FIXED, 0, buffer, offset, length), file), cancellationToken);

    /// <summary>IORING_OP_SEND_ZC from a registered buffer (no page pinning per send); completes with the notification, like <see cref="SendZeroCopy(int, OwnershipMemory, int, MessageFlags, CancellationToken)"/>.</summary>
    public CancelableFuture<BufferResult<OwnershipMemory>> SendZeroCopy(int fd, RegisteredBuffer buffer, int length = -1, MessageFlags flags = MessageFlags.None, CancellationToken cancellationToken = default)
    {
        CheckRegisteredBuffer(buffer);
        var op = BuildSendRecv(io_uring_op.IORING_OP_SEND_ZC, fd, buffer.Memory, length, flags);
        op.Mode = (uint)buffer.Index;
        op.Offset = 1; // registered buffer
        return Start(op, cancellationToken);
    }

    /// <summary>IORING_OP_SEND on a registered file.</summary>
    public CancelableFuture<BufferResult<OwnershipMemory>> Send(RegisteredFile file, OwnershipMemory buffer, int length = -1, MessageFlags flags = MessageFlags.None, CancellationToken cancellationToken = default) =>
        Start(UseRegisteredFile(BuildSendRecv(io_uring_op.IORING_OP_SEND, 0, buffer, length, flags), file), cancellationToken);

    /// <summary>IORING_OP_RECV on a registered file.</summary>
    public CancelableFuture<BufferResult<OwnershipMemory>> Receive(RegisteredFile file, OwnershipMemory buffer, int length = -1, MessageFlags flags = MessageFlags.None, CancellationToken cancellationToken = default) =>
        Start(UseRegisteredFile(BuildSendRecv(io_uring_op.IORING_OP_RECV, 0, buffer, length, flags), file), cancellationToken);

    private Operation<BufferResult<OwnershipMemory>> BuildFixed(io_uring_op opcode, int fd, RegisteredBuffer buffer, long offset, int length)
    {
        CheckRegisteredBuffer(buffer);
        var op = BuildReadWrite(opcode, fd, buffer.Memory, offset, length);
        op.Mode = (uint)buffer.Index;
        return op;
    }

    private void CheckRegisteredBuffer(RegisteredBuffer buffer)
    {
        var table = BufferTable ?? throw new InvalidOperationException("This ring has no registered buffer table (RegisterBuffers).");
        table.CheckRegistered(buffer);
    }

    private Operation<T> UseRegisteredFile<T>(Operation<T> op, RegisteredFile file)
    {
        var table = FileTable;
        try
        {
            if (table is null)
                throw new InvalidOperationException("This ring has no registered file table (RegisterFiles).");
            table.CheckInUse(file);
        }
        catch
        {
            Recycle(op);
            throw;
        }
        op.Fd = file.Index;
        op.SqeFlags |= (byte)Constants.IOSQE_FIXED_FILE;
        return op;
    }
}
