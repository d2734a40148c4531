using Uring.Bindings;

namespace Uring;

// Registered (fixed) files and buffers; the operations that use them are in the table.
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

    internal void CheckRegisteredBuffer(RegisteredBuffer buffer, string name)
    {
        if (buffer.Memory is null)
            throw new ArgumentException("A default RegisteredBuffer names no buffer.", name);
        var table = BufferTable ?? throw new InvalidOperationException("This ring has no registered buffer table (RegisterBuffers).");
        table.CheckRegistered(buffer);
    }

    internal void CheckRegisteredFile(RegisteredFile file, string name)
    {
        var table = FileTable ?? throw new InvalidOperationException("This ring has no registered file table (RegisterFiles).");
        table.CheckInUse(file);
    }
}
