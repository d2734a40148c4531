using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Uring;

/// <summary>
/// A <see cref="Stream"/> over a file whose reads and writes go through a <see cref="Ring"/>
/// (IORING_OP_READ / IORING_OP_WRITE at the stream's position). There is no user-space buffer:
/// each call lends the caller's memory to the kernel (pinned from the submission to the CQE) and
/// completes when the kernel has done the transfer.
/// </summary>
/// <remarks>
/// <para><b>Position.</b> A seekable file is read and written at explicit offsets from the
/// stream's own <see cref="Position"/> (the file descriptor's offset is not used or moved, as with
/// <see cref="FileStream"/>). A pipe, socket or character device is not seekable
/// (<see cref="CanSeek"/> false): operations use the descriptor's current position (offset -1).</para>
/// <para><b>Cancellation.</b> The token of <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>
/// and <see cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/> cancels the operation in
/// the kernel (IORING_OP_ASYNC_CANCEL); the call ends only with the operation's CQE, so a cancelled
/// read never writes into the caller's memory afterwards, and the stream's position stays where it
/// was. A regular-file read already running in the kernel is not interruptible and completes.</para>
/// <para><b>One operation at a time</b>, as for any <see cref="Stream"/>: a second call while one
/// is running throws <see cref="InvalidOperationException"/>.</para>
/// <para><b>Flush.</b> Nothing is buffered, so <see cref="Flush()"/> and <see cref="FlushAsync"/> have
/// nothing to write; with <see cref="FlushToDisk"/> (or <see cref="Flush(bool)"/> with true) they
/// run IORING_OP_FSYNC through the ring.</para>
/// <para><b>Dispose</b> closes the handle if the stream owns it. An operation still in flight keeps
/// its own reference on the handle, so the descriptor closes only after that operation's CQE, and
/// the operation still completes (or can still be cancelled with its token).</para>
/// </remarks>
public sealed class RingFileStream : Stream
{
    private readonly Ring _ring;
    private readonly SafeFileHandle _handle;
    private readonly bool _ownsHandle;
    private readonly bool _canRead, _canWrite, _canSeek;
    private readonly long _appendStart;          // FileMode.Append: no seeking before the original end
    private OwnershipMemory? _wrapper;           // lends the caller's memory, one operation at a time
    private long _position;
    private int _busy;
    private bool _disposed;

    /// <summary>Opens <paramref name="path"/> like <see cref="FileStream"/> does and streams it through <paramref name="ring"/>.</summary>
    public RingFileStream(Ring ring, string path, FileMode mode, FileAccess access = FileAccess.ReadWrite, FileShare share = FileShare.Read)
        : this(ring, OpenHandle(path, mode, access, share), access, ownsHandle: true)
    {
        if (mode == FileMode.Append)
        {
            _position = _appendStart = RandomAccess.GetLength(_handle);
        }
    }

    /// <summary>Streams an open file through <paramref name="ring"/>, starting at the descriptor's current offset.</summary>
    /// <param name="ring">The ring that performs the reads and writes.</param>
    /// <param name="handle">The file; it must stay open while the stream uses it (unless the stream owns it).</param>
    /// <param name="access">What the handle was opened for.</param>
    /// <param name="ownsHandle">Close the handle when the stream is disposed.</param>
    public RingFileStream(Ring ring, SafeFileHandle handle, FileAccess access, bool ownsHandle = false)
    {
        ArgumentNullException.ThrowIfNull(ring);
        ArgumentNullException.ThrowIfNull(handle);
        if (handle.IsInvalid)
            throw new ArgumentException("The handle is invalid.", nameof(handle));
        ObjectDisposedException.ThrowIf(handle.IsClosed, handle);
        if (access is not (FileAccess.Read or FileAccess.Write or FileAccess.ReadWrite))
            throw new ArgumentOutOfRangeException(nameof(access));
        _ring = ring;
        _handle = handle;
        _ownsHandle = ownsHandle;
        _canRead = (access & FileAccess.Read) != 0;
        _canWrite = (access & FileAccess.Write) != 0;
        var position = LibC.lseek((int)handle.DangerousGetHandle(), 0, LibC.SEEK_CUR);
        _canSeek = position >= 0;
        _position = _canSeek ? position : 0;
        _appendStart = -1;
    }

    private static SafeFileHandle OpenHandle(string path, FileMode mode, FileAccess access, FileShare share)
    {
        if (mode == FileMode.Append && access != FileAccess.Write)
            throw new ArgumentException("FileMode.Append can only be used with FileAccess.Write.", nameof(access));
        return File.OpenHandle(path, mode, access, share, FileOptions.None);
    }

    /// <summary>The ring that performs the reads and writes.</summary>
    public Ring Ring => _ring;

    /// <summary>The file's handle.</summary>
    public SafeFileHandle SafeFileHandle => _handle;

    /// <summary>Flush and FlushAsync run IORING_OP_FSYNC (data and metadata reach the device).</summary>
    public bool FlushToDisk { get; set; }

    /// <inheritdoc />
    public override bool CanRead => !_disposed && _canRead;

    /// <inheritdoc />
    public override bool CanWrite => !_disposed && _canWrite;

    /// <inheritdoc />
    public override bool CanSeek => !_disposed && _canSeek;

    /// <summary>The file's size (fstat).</summary>
    public override long Length
    {
        get
        {
            ThrowIfDisposed();
            ThrowIfUnseekable();
            return RandomAccess.GetLength(_handle);
        }
    }

    /// <inheritdoc />
    public override long Position
    {
        get
        {
            ThrowIfDisposed();
            ThrowIfUnseekable();
            return Volatile.Read(ref _position);
        }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            Seek(value, SeekOrigin.Begin);
        }
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin)
    {
        ThrowIfDisposed();
        ThrowIfUnseekable();
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => Volatile.Read(ref _position) + offset,
            SeekOrigin.End => RandomAccess.GetLength(_handle) + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        if (target < 0)
            throw new IOException("An attempt was made to move the position before the beginning of the stream.");
        if (_appendStart >= 0 && target < _appendStart)
            throw new IOException("Unable to seek backward to overwrite data that previously existed in a file opened in Append mode.");
        Volatile.Write(ref _position, target);
        return target;
    }

    /// <summary>Sets the file's size (IORING_OP_FTRUNCATE); a position beyond it moves to the new end.</summary>
    public override void SetLength(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        ThrowIfDisposed();
        ThrowIfUnseekable();
        if (!_canWrite)
            throw new NotSupportedException("The stream does not support writing.");
        if (_appendStart >= 0 && value < _appendStart)
            throw new IOException("Unable to truncate data that previously existed in a file opened in Append mode.");
        Enter();
        try
        {
            _ = _ring.Ftruncate(_handle, value).Result;
            if (_position > value)
                _position = value;
        }
        finally
        {
            Exit();
        }
    }

    // ------------------------------------------------------------------ reads

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsMemory(offset, count));
    }

    /// <summary>Reads synchronously (blocks until the CQE; on the ring's owner thread it drives the ring).</summary>
    private int Read(Memory<byte> buffer)
    {
        BeginRead();
        if (buffer.IsEmpty)
        {
            Exit();
            return 0;
        }
        var wrapper = Lend(buffer, readOnly: false);
        try
        {
            var (n, _) = _ring.Read(_handle, wrapper, _canSeek ? _position : Ring.CurrentPosition).Result;
            if (_canSeek)
                _position += n;
            return n;
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <summary>Reads into <paramref name="buffer"/> at the stream's position (IORING_OP_READ); 0 at the end of the file.</summary>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        BeginRead();
        if (buffer.IsEmpty)
        {
            Exit();
            return ValueTask.FromResult(0);
        }
        OwnershipMemory wrapper;
        CancelableFuture<BufferResult<OwnershipMemory>> read;
        try
        {
            wrapper = Lend(buffer, readOnly: false);
            read = _ring.Read(_handle, wrapper, _canSeek ? _position : Ring.CurrentPosition, cancellationToken: cancellationToken);
        }
        catch
        {
            Exit();
            throw;
        }
        return FinishRead(read);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> FinishRead(CancelableFuture<BufferResult<OwnershipMemory>> read)
    {
        try
        {
            var (n, _) = await read.ConfigureAwait(false);
            if (_canSeek)
                _position += n;
            return n;
        }
        finally
        {
            Exit();
        }
    }

    // ------------------------------------------------------------------ writes

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        BeginWrite();
        try
        {
            ReadOnlyMemory<byte> rest = buffer.AsMemory(offset, count);
            while (!rest.IsEmpty)
            {
                var (n, _) = _ring.Write(_handle, Lend(MemoryMarshal.AsMemory(rest), readOnly: true), _canSeek ? _position : Ring.CurrentPosition).Result;
                if (n == 0)
                    throw new IOException($"IORING_OP_WRITE wrote nothing of {rest.Length} bytes.");
                rest = rest[n..];
                if (_canSeek)
                    _position += n;
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <summary>Writes all of <paramref name="buffer"/> at the stream's position (IORING_OP_WRITE, repeated after a short write).</summary>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        BeginWrite();
        if (buffer.IsEmpty)
        {
            Exit();
            return ValueTask.CompletedTask;
        }
        return WriteAll(buffer, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteAll(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            while (!buffer.IsEmpty)
            {
                var wrapper = Lend(MemoryMarshal.AsMemory(buffer), readOnly: true);
                var (n, _) = await _ring.Write(_handle, wrapper, _canSeek ? _position : Ring.CurrentPosition, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (n == 0)
                    throw new IOException($"IORING_OP_WRITE wrote nothing of {buffer.Length} bytes.");
                buffer = buffer[n..];
                if (_canSeek)
                    _position += n;
            }
        }
        finally
        {
            Exit();
        }
    }

    // ------------------------------------------------------------------ flush

    /// <summary>Nothing is buffered; with <see cref="FlushToDisk"/> this runs IORING_OP_FSYNC.</summary>
    public override void Flush() => Flush(FlushToDisk);

    /// <summary>With <paramref name="flushToDisk"/>, IORING_OP_FSYNC through the ring (blocking); otherwise nothing to do.</summary>
    public void Flush(bool flushToDisk)
    {
        ThrowIfDisposed();
        if (!flushToDisk || !_canWrite)
            return;
        Enter();
        try
        {
            _ = _ring.Fsync(_handle).Result;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Nothing is buffered; with <see cref="FlushToDisk"/> this runs IORING_OP_FSYNC (cancellable in the kernel by the token).</summary>
    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
            return Task.FromCanceled(cancellationToken);
        if (!FlushToDisk || !_canWrite)
            return Task.CompletedTask;
        Enter();
        CancelableFuture<int> fsync;
        try
        {
            fsync = _ring.Fsync(_handle, cancellationToken);
        }
        catch
        {
            Exit();
            throw;
        }
        return FinishFlush(fsync);
    }

    private async Task FinishFlush(CancelableFuture<int> fsync)
    {
        try
        {
            await fsync.ConfigureAwait(false);
        }
        finally
        {
            Exit();
        }
    }

    // ------------------------------------------------------------------ lifetime

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (_disposed)
            return;
        _disposed = true;
        if (disposing && _ownsHandle)
            _handle.Dispose(); // an operation in flight holds its own reference until its CQE
        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    // ------------------------------------------------------------------ helpers

    private void BeginRead()
    {
        ThrowIfDisposed();
        if (!_canRead)
            throw new NotSupportedException("The stream does not support reading.");
        Enter();
    }

    private void BeginWrite()
    {
        ThrowIfDisposed();
        if (!_canWrite)
            throw new NotSupportedException("The stream does not support writing.");
        Enter();
    }

    private void Enter()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
            throw new InvalidOperationException("A RingFileStream runs one operation at a time; the previous one has not completed.");
    }

    private void Exit() => Volatile.Write(ref _busy, 0);

    /// <summary>The stream's wrapper, pointed at the caller's memory for the next operation.</summary>
    private OwnershipMemory Lend(Memory<byte> memory, bool readOnly)
    {
        if (_wrapper is null || _wrapper.State == OwnershipState.Kernel) // (kernel-owned: quarantined by a ring that gave up on it)
            _wrapper = OwnershipMemory.CreateManaged(memory, readOnly);
        else
            _wrapper.Rebind(memory, readOnly);
        return _wrapper;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void ThrowIfUnseekable()
    {
        if (!_canSeek)
            throw new NotSupportedException("The stream does not support seeking (a pipe, socket or character device).");
    }
}
