using Uring.Bindings;

namespace Uring;

/// <summary>The argument checks operations make on the calling thread, before anything is taken or submitted.</summary>
internal static class ArgumentChecks
{
    internal static void NotNegative(int fd, string name)
    {
        if (fd < 0)
            throw new ArgumentOutOfRangeException(name, fd, "A file descriptor cannot be negative.");
    }

    /// <summary>An offset is &gt;= 0, or -1 for the current file position.</summary>
    internal static void Offset(long offset, string name)
    {
        if (offset < -1)
            throw new ArgumentOutOfRangeException(name, offset, "An offset is >= 0, or -1 for the current file position.");
    }

    /// <summary>The byte count of a transfer: -1 for the whole buffer, else at most its length.</summary>
    internal static uint Length(int length, int bufferLength, io_uring_op opcode, string name)
    {
        if (length < 0)
            return length == -1 ? (uint)bufferLength : throw new ArgumentOutOfRangeException(name, length, "A length is >= 0, or -1 for the whole buffer.");
        if (length > bufferLength)
            throw new ArgumentException($"The buffer is too small: {opcode} of {length} bytes with a {bufferLength}-byte buffer.", name);
        return (uint)length;
    }

    /// <summary>A buffer the kernel writes into: not null, not read-only memory.</summary>
    internal static void WritableBuffer(OwnershipMemory buffer, io_uring_op opcode, string name)
    {
        ArgumentNullException.ThrowIfNull(buffer, name);
        if (buffer.IsReadOnly)
            throw ReadOnlyBuffer(opcode, name);
    }

    private static ArgumentException ReadOnlyBuffer(io_uring_op opcode, string name) =>
        new($"{opcode} writes into its buffer, and this OwnershipMemory lends read-only memory (FromReadOnlyMemory).", name);

    /// <summary>A scatter/gather list: 1 to <paramref name="max"/> distinct, non-null buffers;
    /// none read-only when the kernel writes into them (<paramref name="writable"/>).</summary>
    internal static void BufferList(OwnershipMemory[] buffers, int max, io_uring_op opcode, string name, bool writable)
    {
        ArgumentNullException.ThrowIfNull(buffers, name);
        if (buffers.Length == 0 || buffers.Length > max)
            throw new ArgumentException($"{opcode} takes 1 to {max} buffers; got {buffers.Length}.", name);
        for (var i = 0; i < buffers.Length; i++)
        {
            if (buffers[i] is null)
                throw new ArgumentNullException(name, $"{name}[{i}] is null.");
            if (writable && buffers[i].IsReadOnly)
                throw ReadOnlyBuffer(opcode, name);
            for (var j = 0; j < i; j++)
                if (ReferenceEquals(buffers[i], buffers[j]))
                    throw new ArgumentException($"{name}[{j}] and {name}[{i}] are the same OwnershipMemory.", name);
        }
    }

    internal static void NotNegative(TimeSpan value, string name)
    {
        if (value < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(name, value, "A time span cannot be negative.");
    }

    internal static void Path(string path, string name)
    {
        ArgumentNullException.ThrowIfNull(path, name);
        if (path.Contains('\0'))
            throw new ArgumentException("A path cannot contain NUL characters.", name);
    }
}
