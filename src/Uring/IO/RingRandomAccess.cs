using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;

namespace Uring;

/// <summary>
/// <see cref="RandomAccess"/>-style reads and writes at an offset, through io_uring: the caller's
/// <see cref="Memory{T}"/> is lent to the kernel (pinned from the submission to the CQE) and the
/// handle is referenced until then. Each call goes through a given <see cref="Ring"/>, or through
/// <see cref="SharedRing"/>.
/// </summary>
/// <remarks>
/// <para>Cancellation through the token is a kernel cancel (IORING_OP_ASYNC_CANCEL); the call
/// completes only with the operation's CQE, so the memory is the caller's again whenever the
/// returned task has completed, whatever the outcome. A read the kernel cannot interrupt (a
/// regular file read already running) completes normally.</para>
/// <para>Steady state allocates nothing per call: the wrappers are pooled and the async methods
/// use pooling builders.</para>
/// </remarks>
public static class RingRandomAccess
{
    private static readonly Lazy<Ring> s_shared = new(() => new Ring(new RingOptions
    {
        // Callers' continuations must not run on (and stall) a loop thread they do not own.
        RunContinuationsAsynchronously = true,
        ThreadName = "io_uring shared",
    }));

    /// <summary>
    /// A process-wide ring for the overloads without a ring, created at first use: its own loop
    /// thread (a background thread), continuations on the thread pool. It is never disposed.
    /// </summary>
    public static Ring SharedRing => s_shared.Value;

    /// <summary>Reads into <paramref name="buffer"/> from <paramref name="fileOffset"/> through <see cref="SharedRing"/>; see <see cref="ReadAsync(Ring, SafeFileHandle, Memory{byte}, long, CancellationToken)"/>.</summary>
    public static ValueTask<int> ReadAsync(SafeFileHandle handle, Memory<byte> buffer, long fileOffset, CancellationToken cancellationToken = default) =>
        ReadAsync(SharedRing, handle, buffer, fileOffset, cancellationToken);

    /// <summary>
    /// Reads into <paramref name="buffer"/> from <paramref name="fileOffset"/> (IORING_OP_READ);
    /// returns the bytes read: fewer than asked at the end of the file, 0 at or past it.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="ring"/> or <paramref name="handle"/> is null.</exception>
    /// <exception cref="ArgumentException">The handle is invalid.</exception>
    /// <exception cref="ObjectDisposedException">The handle is closed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fileOffset"/> is negative.</exception>
    /// <exception cref="BufferBusyException">Some of these bytes are lent to the kernel by another operation.</exception>
    /// <exception cref="UringIOException">The kernel's error (EBADF for a handle opened without read access…).</exception>
    public static ValueTask<int> ReadAsync(Ring ring, SafeFileHandle handle, Memory<byte> buffer, long fileOffset, CancellationToken cancellationToken = default)
    {
        Validate(ring, handle, fileOffset);
        if (buffer.IsEmpty)
            return ValueTask.FromResult(0);
        return ReadCore(ring, handle, buffer, fileOffset, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> ReadCore(Ring ring, SafeFileHandle handle, Memory<byte> buffer, long fileOffset, CancellationToken cancellationToken)
    {
        var wrapper = PinnedWrapperPool.Rent(buffer, readOnly: false);
        try
        {
            var (n, _) = await ring.Read(handle, wrapper, fileOffset, cancellationToken: cancellationToken).ConfigureAwait(false);
            return n;
        }
        finally
        {
            PinnedWrapperPool.Return(wrapper);
        }
    }

    /// <summary>Writes all of <paramref name="buffer"/> at <paramref name="fileOffset"/> through <see cref="SharedRing"/>; see <see cref="WriteAsync(Ring, SafeFileHandle, ReadOnlyMemory{byte}, long, CancellationToken)"/>.</summary>
    public static ValueTask WriteAsync(SafeFileHandle handle, ReadOnlyMemory<byte> buffer, long fileOffset, CancellationToken cancellationToken = default) =>
        WriteAsync(SharedRing, handle, buffer, fileOffset, cancellationToken);

    /// <summary>
    /// Writes all of <paramref name="buffer"/> at <paramref name="fileOffset"/> (IORING_OP_WRITE,
    /// repeated after a short write). The file grows as needed.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="ring"/> or <paramref name="handle"/> is null.</exception>
    /// <exception cref="ArgumentException">The handle is invalid.</exception>
    /// <exception cref="ObjectDisposedException">The handle is closed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fileOffset"/> is negative.</exception>
    /// <exception cref="UringIOException">The kernel's error (EBADF for a handle opened without write access, ENOSPC…).</exception>
    public static ValueTask WriteAsync(Ring ring, SafeFileHandle handle, ReadOnlyMemory<byte> buffer, long fileOffset, CancellationToken cancellationToken = default)
    {
        Validate(ring, handle, fileOffset);
        if (buffer.IsEmpty)
            return ValueTask.CompletedTask;
        return WriteCore(ring, handle, buffer, fileOffset, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask WriteCore(Ring ring, SafeFileHandle handle, ReadOnlyMemory<byte> buffer, long fileOffset, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            var written = await WriteOnce(ring, handle, buffer, fileOffset, cancellationToken).ConfigureAwait(false);
            buffer = buffer[written..];
            fileOffset += written;
        }
    }

    /// <summary>One IORING_OP_WRITE of <paramref name="buffer"/>; the bytes written (at least 1).
    /// <paramref name="fileOffset"/> -1 writes at the file position.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal static async ValueTask<int> WriteOnce(Ring ring, SafeFileHandle handle, ReadOnlyMemory<byte> buffer, long fileOffset, CancellationToken cancellationToken)
    {
        var wrapper = PinnedWrapperPool.Rent(System.Runtime.InteropServices.MemoryMarshal.AsMemory(buffer), readOnly: true);
        try
        {
            var (n, _) = await ring.Write(handle, wrapper, fileOffset, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (n == 0)
                throw new IOException($"IORING_OP_WRITE wrote nothing of {buffer.Length} bytes at offset {fileOffset}.");
            return n;
        }
        finally
        {
            PinnedWrapperPool.Return(wrapper);
        }
    }

    /// <summary>The file's size in bytes (fstat).</summary>
    public static long GetLength(SafeFileHandle handle) => RandomAccess.GetLength(handle);

    private static void Validate(Ring ring, SafeFileHandle handle, long fileOffset)
    {
        ArgumentNullException.ThrowIfNull(ring);
        ArgumentNullException.ThrowIfNull(handle);
        if (handle.IsInvalid)
            throw new ArgumentException("The handle is invalid.", nameof(handle));
        ObjectDisposedException.ThrowIf(handle.IsClosed, handle);
        ArgumentOutOfRangeException.ThrowIfNegative(fileOffset);
    }
}
