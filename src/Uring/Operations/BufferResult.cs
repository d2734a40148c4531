namespace Uring;

/// <summary>
/// The outcome of an operation that borrowed buffers: how many bytes the kernel moved, and
/// the buffer(s), whose ownership is back with the caller.
/// </summary>
/// <typeparam name="T">The buffer type (<see cref="OwnershipMemory"/> or an array of them).</typeparam>
public readonly struct BufferResult<T>
{
    /// <summary>Creates a result.</summary>
    public BufferResult(int bytesTransferred, T buffer)
    {
        BytesTransferred = bytesTransferred;
        Buffer = buffer;
    }

    /// <summary>Bytes read or written (the CQE's <c>res</c>); 0 at end of file.</summary>
    public int BytesTransferred { get; }

    /// <summary>The buffer, owned by the caller again.</summary>
    public T Buffer { get; }

    /// <summary>Deconstructs into (bytes, buffer).</summary>
    public void Deconstruct(out int bytesTransferred, out T buffer)
    {
        bytesTransferred = BytesTransferred;
        buffer = Buffer;
    }

    /// <inheritdoc />
    public override string ToString() => $"{BytesTransferred} bytes";
}
