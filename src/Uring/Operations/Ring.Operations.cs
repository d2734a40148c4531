using System.Diagnostics;
using System.Text;
using Uring.Bindings;

namespace Uring;

// The operations. Each public method validates its arguments on the calling thread (bad
// input throws there, synchronously), takes ownership of the buffers, and queues the
// operation; the Build* methods are shared with LinkedChain.
public sealed unsafe partial class Ring
{
    /// <summary>AT_FDCWD: resolve relative paths against the current directory.</summary>
    public const int CurrentDirectory = -100;

    /// <summary>Offset value meaning "the file's current position" (IORING_FEAT_RW_CUR_POS).</summary>
    public const long CurrentPosition = -1;

    // -------------------------------------------------------------- nop

    /// <summary>IORING_OP_NOP: completes with 0; measures the ring itself.</summary>
    public CancelableFuture<int> Nop(CancellationToken cancellationToken = default) => Start(BuildNop(), cancellationToken);

    internal Operation<int> BuildNop() => Begin<int>(io_uring_op.IORING_OP_NOP, &ProduceInt);

    // -------------------------------------------------------------- read / write

    /// <summary>
    /// IORING_OP_READ into <paramref name="buffer"/> (all of it, or the first <paramref name="length"/> bytes)
    /// from <paramref name="offset"/> (<see cref="CurrentPosition"/> = the file position). The buffer is
    /// owned by the kernel until the CQE and comes back in the result.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative fd or an offset below -1.</exception>
    /// <exception cref="ArgumentException"><paramref name="length"/> exceeds the buffer.</exception>
    /// <exception cref="BufferBusyException">The buffer is already lent to the kernel.</exception>
    public CancelableFuture<BufferResult<OwnershipMemory>> Read(int fd, OwnershipMemory buffer, long offset = CurrentPosition, int length = -1, CancellationToken cancellationToken = default) =>
        Start(BuildReadWrite(io_uring_op.IORING_OP_READ, fd, buffer, offset, length), cancellationToken);

    /// <summary>IORING_OP_READ with a per-operation deadline: the read is linked to an
    /// IORING_OP_LINK_TIMEOUT, and fails with <see cref="TimeoutException"/> when it fires first.</summary>
    public CancelableFuture<BufferResult<OwnershipMemory>> Read(int fd, OwnershipMemory buffer, long offset, TimeSpan timeout, int length = -1)
    {
        var read = BuildReadWrite(io_uring_op.IORING_OP_READ, fd, buffer, offset, length);
        Operation<bool> linkTimeout;
        try
        {
            linkTimeout = BuildTimeoutCore(io_uring_op.IORING_OP_LINK_TIMEOUT, timeout, 0, 0);
        }
        catch
        {
            Recycle(read);
            throw;
        }
        read.HasLinkTimeout = true;
        read.InChain = linkTimeout.InChain = true;
        read.SqeFlags = (byte)Constants.IOSQE_IO_LINK;
        read.NextInChain = linkTimeout;
        read.ChainLength = 2;
        var future = new CancelableFuture<BufferResult<OwnershipMemory>>(read, read.Version);
        StartChainCore(new Operation[] { read, linkTimeout });
        return future;
    }

    /// <summary>IORING_OP_WRITE of <paramref name="buffer"/> (or its first <paramref name="length"/> bytes) at <paramref name="offset"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative fd or an offset below -1.</exception>
    /// <exception cref="ArgumentException"><paramref name="length"/> exceeds the buffer.</exception>
    /// <exception cref="BufferBusyException">The buffer is already lent to the kernel.</exception>
    public CancelableFuture<BufferResult<OwnershipMemory>> Write(int fd, OwnershipMemory buffer, long offset = CurrentPosition, int length = -1, CancellationToken cancellationToken = default) =>
        Start(BuildReadWrite(io_uring_op.IORING_OP_WRITE, fd, buffer, offset, length), cancellationToken);

    internal Operation<BufferResult<OwnershipMemory>> BuildReadWrite(io_uring_op opcode, int fd, OwnershipMemory buffer, long offset, int length)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        CheckFd(fd);
        CheckOffset(offset);
        if (length < 0)
            length = buffer.Length;
        else if (length > buffer.Length)
            throw new ArgumentException($"The buffer is too small: {opcode} of {length} bytes into a {buffer.Length}-byte buffer.", nameof(length));
        var op = Begin<BufferResult<OwnershipMemory>>(opcode, &ProduceBuffer);
        op.Fd = fd;
        op.Buffer = buffer;
        op.Length = (uint)length;
        op.Offset = (ulong)offset;
        return op;
    }

    /// <summary>IORING_OP_READV: scatter into up to 16 buffers.</summary>
    public CancelableFuture<BufferResult<OwnershipMemory[]>> ReadV(int fd, OwnershipMemory[] buffers, long offset = CurrentPosition, CancellationToken cancellationToken = default) =>
        Start(BuildVector(io_uring_op.IORING_OP_READV, fd, buffers, offset), cancellationToken);

    /// <summary>IORING_OP_WRITEV: gather from up to 16 buffers.</summary>
    public CancelableFuture<BufferResult<OwnershipMemory[]>> WriteV(int fd, OwnershipMemory[] buffers, long offset = CurrentPosition, CancellationToken cancellationToken = default) =>
        Start(BuildVector(io_uring_op.IORING_OP_WRITEV, fd, buffers, offset), cancellationToken);

    /// <summary>A scatter/gather list: 1 to <paramref name="max"/> distinct, non-null buffers.</summary>
    internal static void CheckBufferList(io_uring_op opcode, OwnershipMemory[] buffers, int max)
    {
        if (buffers.Length == 0 || buffers.Length > max)
            throw new ArgumentException($"{opcode} takes 1 to {max} buffers; got {buffers.Length}.", nameof(buffers));
        for (var i = 0; i < buffers.Length; i++)
        {
            if (buffers[i] is null)
                throw new ArgumentNullException(nameof(buffers), $"buffers[{i}] is null.");
            for (var j = 0; j < i; j++)
                if (ReferenceEquals(buffers[i], buffers[j]))
                    throw new ArgumentException($"buffers[{j}] and buffers[{i}] are the same OwnershipMemory.", nameof(buffers));
        }
    }

    internal Operation<BufferResult<OwnershipMemory[]>> BuildVector(io_uring_op opcode, int fd, OwnershipMemory[] buffers, long offset)
    {
        ArgumentNullException.ThrowIfNull(buffers);
        CheckFd(fd);
        CheckOffset(offset);
        CheckBufferList(opcode, buffers, MaxIovecs);
        var op = Begin<BufferResult<OwnershipMemory[]>>(opcode, &ProduceBuffers);
        op.Fd = fd;
        op.Buffers = buffers;
        op.Offset = (ulong)offset;
        return op;
    }

    // -------------------------------------------------------------- sync

    /// <summary>IORING_OP_FSYNC (fsync(2)).</summary>
    public CancelableFuture<int> Fsync(int fd, CancellationToken cancellationToken = default) => Start(BuildFsync(fd, false), cancellationToken);

    /// <summary>IORING_OP_FSYNC with IORING_FSYNC_DATASYNC (fdatasync(2)).</summary>
    public CancelableFuture<int> Fdatasync(int fd, CancellationToken cancellationToken = default) => Start(BuildFsync(fd, true), cancellationToken);

    internal Operation<int> BuildFsync(int fd, bool dataOnly)
    {
        CheckFd(fd);
        var op = Begin<int>(io_uring_op.IORING_OP_FSYNC, &ProduceInt);
        op.Fd = fd;
        op.OpFlags = dataOnly ? Constants.IORING_FSYNC_DATASYNC : 0;
        return op;
    }

    // -------------------------------------------------------------- files

    /// <summary>IORING_OP_OPENAT: opens <paramref name="path"/> relative to <paramref name="directoryFd"/>
    /// (<see cref="CurrentDirectory"/> for AT_FDCWD) with open(2) <paramref name="flags"/>; the result is the new fd.</summary>
    public CancelableFuture<int> OpenAt(int directoryFd, string path, int flags, uint mode = 0x1A4 /* 0644 */, CancellationToken cancellationToken = default)
    {
        if (directoryFd != CurrentDirectory)
            CheckFd(directoryFd);
        var op = Begin<int>(io_uring_op.IORING_OP_OPENAT, &ProduceInt);
        op.Fd = directoryFd;
        op.OpFlags = (uint)(flags | OpenFlags.CloseOnExec);
        op.Mode = mode;
        SetPath(op, path);
        return Start(op, cancellationToken);
    }

    /// <summary>IORING_OP_CLOSE.</summary>
    public CancelableFuture<int> Close(int fd, CancellationToken cancellationToken = default)
    {
        CheckFd(fd);
        var op = Begin<int>(io_uring_op.IORING_OP_CLOSE, &ProduceInt);
        op.Fd = fd;
        return Start(op, cancellationToken);
    }

    /// <summary>IORING_OP_STATX on <paramref name="path"/> relative to <paramref name="directoryFd"/>
    /// (AT_EMPTY_PATH = 0x1000 in <paramref name="flags"/> with an empty path stats the fd itself).</summary>
    public CancelableFuture<StatxResult> Statx(int directoryFd, string path, int flags = 0, uint mask = StatxResult.BasicStats, CancellationToken cancellationToken = default)
    {
        if (directoryFd != CurrentDirectory)
            CheckFd(directoryFd);
        var op = Begin<StatxResult>(io_uring_op.IORING_OP_STATX, &ProduceStatx);
        op.Fd = directoryFd;
        op.OpFlags = (uint)flags;
        op.Mode = mask;
        SetPath(op, path);
        return Start(op, cancellationToken);
    }

    /// <summary>IORING_OP_FALLOCATE (fallocate(2) <paramref name="mode"/>, 0 = allocate and extend).</summary>
    public CancelableFuture<int> Fallocate(int fd, long offset, long length, int mode = 0, CancellationToken cancellationToken = default)
    {
        CheckFd(fd);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        var op = Begin<int>(io_uring_op.IORING_OP_FALLOCATE, &ProduceInt);
        op.Fd = fd;
        op.Mode = (uint)mode;
        op.Offset = (ulong)offset;
        op.Offset2 = (ulong)length;
        return Start(op, cancellationToken);
    }

    // -------------------------------------------------------------- pipes

    /// <summary>IORING_OP_SPLICE: moves up to <paramref name="length"/> bytes between two fds, one of which is a pipe
    /// (its offset must be -1). The result is the number of bytes moved.</summary>
    public CancelableFuture<int> Splice(int fdIn, long offsetIn, int fdOut, long offsetOut, int length, uint flags = 0, CancellationToken cancellationToken = default)
    {
        CheckFd(fdIn);
        CheckFd(fdOut);
        CheckOffset(offsetIn);
        CheckOffset(offsetOut);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        var op = Begin<int>(io_uring_op.IORING_OP_SPLICE, &ProduceInt);
        op.Fd = fdIn;
        op.Offset = (ulong)offsetIn;
        op.Fd2 = fdOut;
        op.Offset2 = (ulong)offsetOut;
        op.Length = (uint)length;
        op.OpFlags = flags;
        return Start(op, cancellationToken);
    }

    /// <summary>IORING_OP_TEE: duplicates up to <paramref name="length"/> bytes from one pipe to another without consuming them.</summary>
    public CancelableFuture<int> Tee(int fdIn, int fdOut, int length, uint flags = 0, CancellationToken cancellationToken = default)
    {
        CheckFd(fdIn);
        CheckFd(fdOut);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        var op = Begin<int>(io_uring_op.IORING_OP_TEE, &ProduceInt);
        op.Fd = fdIn;
        op.Fd2 = fdOut;
        op.Length = (uint)length;
        op.OpFlags = flags;
        return Start(op, cancellationToken);
    }

    /// <summary>IORING_OP_POLL_ADD (one shot): completes with the events that became ready.</summary>
    public CancelableFuture<PollEvents> PollAdd(int fd, PollEvents events, CancellationToken cancellationToken = default)
    {
        CheckFd(fd);
        var op = Begin<PollEvents>(io_uring_op.IORING_OP_POLL_ADD, &ProducePoll);
        op.Fd = fd;
        op.OpFlags = (uint)events;
        return Start(op, cancellationToken);
    }

    // -------------------------------------------------------------- timeouts

    /// <summary>IORING_OP_TIMEOUT after <paramref name="delay"/>: true when the time elapsed (-ETIME),
    /// false when <paramref name="completionCount"/> (&gt; 0) other completions came first.</summary>
    public CancelableFuture<bool> Timeout(TimeSpan delay, uint completionCount = 0, CancellationToken cancellationToken = default) =>
        Start(BuildTimeoutCore(io_uring_op.IORING_OP_TIMEOUT, delay, completionCount, 0), cancellationToken);

    /// <summary>IORING_OP_TIMEOUT with IORING_TIMEOUT_ABS | IORING_TIMEOUT_REALTIME: fires at a wall-clock time.</summary>
    public CancelableFuture<bool> TimeoutAt(DateTimeOffset deadline, CancellationToken cancellationToken = default)
    {
        var ticks = deadline.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        if (ticks < 0)
            throw new ArgumentOutOfRangeException(nameof(deadline), "The deadline is before 1970.");
        var op = BuildTimeoutCore(io_uring_op.IORING_OP_TIMEOUT, TimeSpan.FromTicks(ticks), 0, Constants.IORING_TIMEOUT_ABS | Constants.IORING_TIMEOUT_REALTIME);
        return Start(op, cancellationToken);
    }

    /// <summary>IORING_OP_TIMEOUT with IORING_TIMEOUT_ABS on CLOCK_MONOTONIC: fires when
    /// <see cref="Stopwatch.GetTimestamp"/> reaches <paramref name="stopwatchTimestamp"/>.</summary>
    public CancelableFuture<bool> TimeoutAtTimestamp(long stopwatchTimestamp, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stopwatchTimestamp);
        var ns = (long)((decimal)stopwatchTimestamp * 1_000_000_000m / Stopwatch.Frequency);
        var op = BuildTimeoutCore(io_uring_op.IORING_OP_TIMEOUT, TimeSpan.Zero, 0, Constants.IORING_TIMEOUT_ABS);
        op.TimeoutSeconds = ns / 1_000_000_000;
        op.TimeoutNanoseconds = ns % 1_000_000_000;
        return Start(op, cancellationToken);
    }

    internal Operation<bool> BuildTimeoutCore(io_uring_op opcode, TimeSpan delay, uint count, uint flags)
    {
        if (delay < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(delay), delay, "A timeout cannot be negative.");
        var op = Begin<bool>(opcode, opcode == io_uring_op.IORING_OP_TIMEOUT ? &ProduceTimeout : &ProduceLinkTimeout);
        op.ProduceHandlesErrors = true;
        var ticks = delay.Ticks;
        op.TimeoutSeconds = ticks / TimeSpan.TicksPerSecond;
        op.TimeoutNanoseconds = ticks % TimeSpan.TicksPerSecond * 100;
        op.Length = count;
        op.OpFlags = flags;
        return op;
    }

    // -------------------------------------------------------------- chains

    /// <summary>
    /// Starts a linked chain (IOSQE_IO_LINK, or IOSQE_IO_HARDLINK with <paramref name="hardLinks"/>):
    /// add operations to the builder, then <see cref="LinkedChain.Submit"/>. The members reach the SQ
    /// contiguously, in order, in one submission.
    /// </summary>
    public LinkedChain CreateChain(bool hardLinks = false)
    {
        if (IsDisposed)
            throw new RingDisposedException("Cannot create a chain: the ring was disposed.");
        return new LinkedChain(this, hardLinks);
    }

    /// <summary>Takes every member's buffers (all or nothing) and queues the chain as one unit.</summary>
    internal void StartChainCore(Operation[] members)
    {
        if (members.Length > SubmissionQueueEntries)
        {
            foreach (var m in members)
            {
                m.Buffer = null;
                m.Buffers = null;
                m.NextInChain = null;
                m.FailLocally(new ArgumentException("chain too long"));
            }
            throw new ArgumentException($"A chain of {members.Length} operations cannot fit in an SQ of {SubmissionQueueEntries} entries.");
        }
        // A buffer used by several members (read into it, then write it out) is lent once and
        // leased by each further member; it comes back with the last of their CQEs.
        var lent = new List<OwnershipMemory>();
        try
        {
            foreach (var m in members)
            {
                if (m.Buffer is not null)
                    Lend(m.Buffer, m.Opcode, lent);
                if (m.Buffers is not null)
                    foreach (var b in m.Buffers)
                        Lend(b, m.Opcode, lent);
            }
        }
        catch
        {
            foreach (var b in lent)
                b.RollbackTransfer();
            foreach (var m in members)
            {
                m.Buffer = null;
                m.Buffers = null;
                m.NextInChain = null;
                m.FailLocally(new InvalidOperationException("The chain was not submitted: a buffer was busy."));
            }
            throw;
        }
        Submit(members[0]);
    }

    private static void Lend(OwnershipMemory buffer, io_uring_op opcode, List<OwnershipMemory> lent)
    {
        if (lent.Exists(b => ReferenceEquals(b, buffer)))
            buffer.AddChainLease();
        else
            buffer.TransferToKernel(opcode);
        lent.Add(buffer);
    }

    internal static void Recycle<T>(Operation<T> op)
    {
        op.Buffer = null;
        op.Buffers = null;
        op.NextInChain = null;
        op.FailLocally(new InvalidOperationException("not started"));
        try { op.GetResult(op.Version); } catch (InvalidOperationException) { }
    }

    // -------------------------------------------------------------- helpers

    private static void CheckFd(int fd, string name = "fd")
    {
        if (fd < 0)
            throw new ArgumentOutOfRangeException(name, fd, "A file descriptor cannot be negative.");
    }

    private static void CheckOffset(long offset)
    {
        if (offset < -1)
            throw new ArgumentOutOfRangeException(nameof(offset), offset, "An offset is >= 0, or -1 for the current file position.");
    }

    private static void SetPath(Operation op, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Contains('\0'))
            throw new ArgumentException("A path cannot contain NUL characters.", nameof(path));
        var size = (nuint)Encoding.UTF8.GetByteCount(path) + 1;
        var p = (byte*)NativeMemoryStatistics.Allocate(size, 1);
        var written = Encoding.UTF8.GetBytes(path, new Span<byte>(p, (int)size));
        p[written] = 0;
        op.Path = p;
        op.PathSize = size;
    }

    private static int ProduceInt(Operation op) => op.Res;

    private static BufferResult<OwnershipMemory> ProduceBuffer(Operation op) => new(op.Res, op.Buffer!);

    private static BufferResult<OwnershipMemory[]> ProduceBuffers(Operation op) => new(op.Res, op.Buffers!);

    private static PollEvents ProducePoll(Operation op) => (PollEvents)(uint)op.Res;

    private static StatxResult ProduceStatx(Operation op) => StatxResult.Read(op.Scratch);

    private static bool ProduceTimeout(Operation op) => op.Res switch
    {
        -Errno.ETIME => true,
        >= 0 => false,
        _ => throw op.Ring.MapError(op, op.Res),
    };

    private static bool ProduceLinkTimeout(Operation op) => op.Res switch
    {
        -Errno.ETIME => true,
        -Errno.ECANCELED when !op.IsCancelRequested => false, // the linked operation finished first
        >= 0 => false,
        _ => throw op.Ring.MapError(op, op.Res),
    };
}
