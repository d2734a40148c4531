using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Uring.Bindings;

namespace Uring;

/// <summary>
/// An io_uring instance and the loop that drives it. Every operation returns a
/// <see cref="CancelableFuture{T}"/>; buffers travel as <see cref="OwnershipMemory"/>.
/// </summary>
/// <remarks>
/// <para><b>Threading.</b> One thread owns the ring: it alone prepares SQEs, calls
/// <c>io_uring_enter</c> and reaps CQEs, which lets the ring use
/// IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN. With
/// <see cref="RingThreading.DedicatedThread"/> (the default) that is a loop thread the ring starts;
/// with <see cref="RingThreading.CallerThread"/> it is the constructing thread, which drives the
/// ring through <see cref="RunOnce"/> or by waiting on futures.</para>
/// <para>Operations may be started from any thread. On the owner thread (for example in a
/// continuation of an awaited future, which runs inline on the loop thread) the SQE is prepared
/// at once — the fast path. Other threads put the operation in a lock-free queue and, if the
/// loop is not already signalled, write to an eventfd on which the ring keeps an
/// IORING_OP_READ pending, so a sleeping loop wakes up. The loop drains the queue into the SQ
/// and submits everything it prepared in one iteration with a single <c>io_uring_enter</c>.</para>
/// <para><b>Pressure.</b> When the SQ is full the loop submits what it has and keeps the rest in
/// a backlog, in order. Completions beyond the CQ size are kept by the kernel
/// (IORING_FEAT_NODROP) and flushed as the loop reaps; none is lost.</para>
/// <para><b>Shutdown.</b> <see cref="Dispose"/> refuses new operations, fails queued ones with
/// <see cref="RingDisposedException"/>, cancels everything in flight (IORING_ASYNC_CANCEL_ANY),
/// waits up to <see cref="RingOptions.ShutdownTimeout"/> for the CQEs, and only then releases the
/// buffers and unmaps the ring. Buffers of operations the kernel never answered are quarantined
/// (never freed).</para>
/// </remarks>
public sealed unsafe partial class Ring : IDisposable
{
    private const ulong InternalTag = 1UL << 63;
    private const ulong WakeUserData = InternalTag | 1;
    private const ulong CancelAllUserData = InternalTag | 2;
    private const ulong PlaceholderUserData = InternalTag | 3;
    internal const int ScratchSize = 320;            // statx buffer or iovecs, then a timespec
    internal const int TimespecOffset = 256;
    internal const int MaxIovecs = TimespecOffset / 16;
    private const int SlotsPerChunk = 64;
    private const int ReapBatch = 64;

    private const int Running = 0, Disposing = 1, Disposed = 2;

    // struct io_uring rounded up to whole cache lines: liburing reads it on every SQE, and a
    // neighbouring malloc chunk written by another thread would otherwise share its last line.
    private static readonly nuint RingAllocationSize = (nuint)((sizeof(io_uring) + 63) / 64 * 64 + 64);

    private static readonly Lazy<string> s_kernelRelease = new(() =>
    {
        try { return File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); }
        catch (IOException) { return Environment.OSVersion.Version.ToString(); }
    });

    private readonly RingOptions _options;
    private readonly ConcurrentQueue<Operation> _incoming = new();
    private readonly Queue<Operation> _backlog = new();
    private bool[] _supported = new bool[256];

    // The kernel's opcode support does not change while the process runs: probe it once.
    private static bool[]? s_probed;
    private readonly Thread? _thread;

    private io_uring* _ring;
    private int _eventFd = -1;
    private ulong* _wakeBuffer;
    private int _wakeSignaled;
    private bool _wakeArmed;
    private int _producers;
    private int _lifecycle;
    private int _ownerThreadId;
    private nuint _ownerStackLow, _ownerStackSize; // the owner thread's stack (see IsOnOwnerStack)
    private int _inKernel;            // user operations with an SQE prepared and no CQE yet
    private int _internalInKernel;    // the wake read and shutdown cancels
    private bool _shutdownDone;
    private long _enterCalls;          // liburing calls that may enter the kernel (tests check batching)

    private Slot[] _slots = new Slot[SlotsPerChunk];
    private int[] _freeSlots = new int[SlotsPerChunk];
    private int _freeCount;
    private int _slotHighWater;
    private readonly List<IntPtr> _scratchChunks = new();

    // An operation in the kernel. A struct, so storing one skips the covariant array-store check.
    private struct Slot
    {
        public Operation? Operation;
        public byte* Scratch; // this slot's piece of the scratch chunks
        public uint Generation;
    }

    // Operations recycled on the owner thread, per Operation<T> type (see TryCacheOperation).
    private object?[] _operationCaches = new object?[8];

    private sealed class OperationCache<T>
    {
        public readonly Operation<T>?[] Items = new Operation<T>?[64];
        public int Count;
    }

    // CQEs copied out of the CQ and not dispatched yet (owner thread; power-of-two ring buffer).
    private ulong[] _pendingUserData = new ulong[256];
    private int[] _pendingResults = new int[256];
    private uint[] _pendingFlags = new uint[256];
    private int _pendingHead, _pendingCount;

    /// <summary>Creates a ring (and, by default, its loop thread).</summary>
    /// <exception cref="UringIOException">io_uring_queue_init_params failed (errno says why).</exception>
    public Ring(RingOptions? options = null)
    {
        _options = options ?? new RingOptions();
        if (_options.Threading == RingThreading.CallerThread)
        {
            Initialize();
            return;
        }

        Exception? startupError = null;
        using var started = new ManualResetEventSlim();
        _thread = new Thread(() =>
        {
            try
            {
                Initialize();
            }
            catch (Exception e)
            {
                startupError = e;
                started.Set();
                return;
            }
            started.Set();
            LoopMain();
        })
        {
            IsBackground = true,
            Name = _options.ThreadName,
        };
        _thread.Start();
        started.Wait();
        if (startupError is not null)
        {
            _thread.Join();
            throw startupError;
        }
    }

    /// <summary>The running kernel's release string (from /proc/sys/kernel/osrelease).</summary>
    public static string KernelRelease => s_kernelRelease.Value;

    /// <summary>IORING_FEAT_* bits the kernel reported at setup.</summary>
    public uint Features { get; private set; }

    /// <summary>The IORING_SETUP_* flags the ring was actually created with.</summary>
    public uint SetupFlags { get; private set; }

    /// <summary>SQ size.</summary>
    public uint SubmissionQueueEntries { get; private set; }

    /// <summary>CQ size.</summary>
    public uint CompletionQueueEntries { get; private set; }

    /// <summary>True when the running kernel supports <paramref name="opcode"/> (io_uring_get_probe_ring,
    /// asked by the first ring of the process; the answer cannot change while it runs).</summary>
    public bool IsSupported(io_uring_op opcode) => (uint)opcode < 256 && _supported[(int)opcode];

    /// <summary>Operations prepared for the kernel and not completed yet (approximate when read off the owner thread).</summary>
    public int InFlight => Volatile.Read(ref _inKernel);

    /// <summary>How many times the loop called into liburing in a way that may enter the kernel
    /// (submit, submit-and-get-events, wait). Read on the owner thread for exact values.</summary>
    public long KernelEnterCalls => Volatile.Read(ref _enterCalls);

    /// <summary>True on the thread that owns the ring.</summary>
    public bool IsOwnerThread => Environment.CurrentManagedThreadId == _ownerThreadId;

    /// <summary>
    /// <see cref="IsOwnerThread"/> for the per-operation path, without a thread-local lookup
    /// (which costs a call into glibc's __tls_get_addr here): a local variable's address lies
    /// inside the owner thread's stack exactly when this code runs on the owner thread, because
    /// the stacks of live threads do not overlap and the owner lives as long as the ring runs.
    /// Falls back to the thread id when glibc could not report the stack.
    /// </summary>
    internal bool IsOnOwnerStack
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (_ownerStackSize == 0)
                return IsOwnerThread;
            byte probe;
            return (nuint)(&probe) - _ownerStackLow < _ownerStackSize;
        }
    }

    /// <summary>True once <see cref="Dispose"/> has been called.</summary>
    public bool IsDisposed => Volatile.Read(ref _lifecycle) != Running;

    // ------------------------------------------------------------------ setup

    private void Initialize()
    {
        _ownerThreadId = Environment.CurrentManagedThreadId;
        (_ownerStackLow, _ownerStackSize) = LibC.CurrentThreadStack();
        _ring = (io_uring*)NativeMemoryStatistics.AllocateZeroed(RingAllocationSize, 64);
        try
        {
            var flags = 0u;
            if (_options.SqPoll)
                flags |= Constants.IORING_SETUP_SQPOLL;
            else if (_options.DeferTaskrun)
                flags |= Constants.IORING_SETUP_SINGLE_ISSUER | Constants.IORING_SETUP_DEFER_TASKRUN;
            else if (_options.CoopTaskrun)
                flags |= Constants.IORING_SETUP_COOP_TASKRUN;
            if (_options.CompletionQueueEntries is { } cq)
                flags |= Constants.IORING_SETUP_CQSIZE;

            var r = InitRing(flags);
            if (r == -Errno.EINVAL && (flags & Constants.IORING_SETUP_DEFER_TASKRUN) != 0)
            {
                // Older kernels: fall back to cooperative task running.
                flags &= ~(Constants.IORING_SETUP_SINGLE_ISSUER | Constants.IORING_SETUP_DEFER_TASKRUN);
                flags |= Constants.IORING_SETUP_COOP_TASKRUN;
                r = InitRing(flags);
            }
            if (r < 0)
                throw new UringIOException(-r, $"io_uring_queue_init_params(entries={_options.Entries}, flags=0x{flags:x})");

            if (Volatile.Read(ref s_probed) is { } probed)
            {
                _supported = probed;
            }
            else
            {
                var probe = Liburing.io_uring_get_probe_ring(_ring);
                if (probe != null)
                {
                    for (var op = 0; op < (int)io_uring_op.IORING_OP_LAST && op < 256; op++)
                        _supported[op] = Liburing.io_uring_opcode_supported(probe, op) != 0;
                    Liburing.io_uring_free_probe(probe);
                    Interlocked.CompareExchange(ref s_probed, _supported, null);
                }
            }

            _eventFd = LibC.eventfd(0, LibC.EFD_CLOEXEC);
            if (_eventFd < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                Liburing.io_uring_queue_exit(_ring);
                throw new UringIOException(errno, "eventfd");
            }
            _wakeBuffer = (ulong*)NativeMemoryStatistics.AllocateZeroed(8, 8);
        }
        catch
        {
            NativeMemoryStatistics.Free(_ring, RingAllocationSize);
            _ring = null;
            throw;
        }
    }

    private int InitRing(uint flags)
    {
        io_uring_params p = default;
        p.flags = flags;
        p.sq_thread_idle = _options.SqPollIdleMilliseconds;
        if (_options.CompletionQueueEntries is { } cq)
            p.cq_entries = cq;
        var r = Liburing.io_uring_queue_init_params(_options.Entries, _ring, &p);
        if (r == 0)
        {
            Features = p.features;
            SetupFlags = flags;
            SubmissionQueueEntries = p.sq_entries;
            CompletionQueueEntries = p.cq_entries;
        }
        return r;
    }

    // ------------------------------------------------------------------ starting operations

    internal Operation<T> Begin<T>(io_uring_op opcode, delegate*<Operation, T> produce)
    {
        if (Volatile.Read(ref _lifecycle) != Running)
            throw new RingDisposedException($"Cannot start {opcode}: the ring was disposed.", opcode);
        if (!IsSupported(opcode))
            throw new OpcodeNotSupportedException(opcode, KernelRelease);
        return Operation<T>.Rent(this, opcode, produce, _options.RunContinuationsAsynchronously, IsOnOwnerStack);
    }

    /// <summary>An operation object recycled earlier on this ring's owner thread. Call on the owner thread only.</summary>
    internal Operation<T>? TakeCachedOperation<T>()
    {
        var caches = _operationCaches;
        var index = Operation<T>.CacheIndex;
        if ((uint)index >= (uint)caches.Length || caches[index] is not { } entry)
            return null;
        var cache = Unsafe.As<OperationCache<T>>(entry);
        if (cache.Count == 0)
            return null;
        var at = --cache.Count;
        var op = cache.Items[at];
        cache.Items[at] = null;
        return op;
    }

    /// <summary>Keeps a consumed operation for reuse by the owner thread, without a lock or a
    /// thread-local lookup. Only on the owner thread (where continuations consume most results).</summary>
    internal bool TryCacheOperation<T>(Operation<T> op)
    {
        if (_shutdownDone || !IsOnOwnerStack)
            return false;
        var index = Operation<T>.CacheIndex;
        if ((uint)index >= (uint)_operationCaches.Length)
            Array.Resize(ref _operationCaches, Math.Max(index + 1, _operationCaches.Length * 2));
        var cache = _operationCaches[index] is { } entry ? Unsafe.As<OperationCache<T>>(entry) : (OperationCache<T>)(_operationCaches[index] = new OperationCache<T>());
        if (cache.Count == cache.Items.Length)
            return false;
        cache.Items[cache.Count++] = op;
        return true;
    }

    /// <summary>Takes the operation's buffers and hands it to the owner thread.</summary>
    internal CancelableFuture<T> Start<T>(Operation<T> op, CancellationToken cancellationToken)
    {
        var future = new CancelableFuture<T>(op, op.Version);
        try
        {
            op.MoveBuffersToKernel();
        }
        catch
        {
            // Ownership was refused: the operation never existed for the caller. Recycle it.
            op.Buffer = null;
            op.Buffers = null;
            op.FailLocally(new InvalidOperationException("not started"));
            try { op.GetResult(op.Version); } catch (InvalidOperationException) { }
            throw;
        }
        if (cancellationToken.CanBeCanceled)
        {
            op.Token = cancellationToken;
            if (cancellationToken.IsCancellationRequested)
            {
                op.FailLocally(new OperationCanceledException($"{op.Opcode} was not started: the token was already cancelled.", cancellationToken));
                return future;
            }
            op.Registration = cancellationToken.UnsafeRegister(static state =>
            {
                var o = (Operation)state!;
                try
                {
                    o.Ring.RequestCancel(o, o.StartVersion);
                }
                catch (ObjectDisposedException)
                {
                    // the ring is shutting down and cancels everything itself
                }
            }, op);
        }
        Submit(op);
        return future;
    }

    /// <summary>Queues a prepared operation (or the head of a chain) for the owner thread.</summary>
    internal void Submit(Operation head)
    {
        if (IsOnOwnerStack)
            SubmitOnOwnerThread(head);
        else
            SubmitFromOtherThread(head);
    }

    private void SubmitOnOwnerThread(Operation head)
    {
        for (var o = head; o is not null; o = o.NextInChain)
        {
            Volatile.Write(ref o.Stage, Operation.StageQueued);
            o.SubmittedByOwner = true;
        }
        if (Volatile.Read(ref _lifecycle) == Running)
        {
            if (_backlog.Count > 0 || !TryPrepare(head))
                _backlog.Enqueue(head);
            return;
        }
        SubmitFromOtherThread(head); // fails it: the ring is being disposed
    }

    // Out of line: its try/finally and exception building would make the owner's fast path
    // above zero a wide stack frame before every SQE (see VectorState).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SubmitFromOtherThread(Operation head)
    {
        for (var o = head; o is not null; o = o.NextInChain)
            Volatile.Write(ref o.Stage, Operation.StageQueued);
        Interlocked.Increment(ref _producers);
        try
        {
            if (Volatile.Read(ref _lifecycle) != Running)
            {
                var error = new RingDisposedException($"Cannot start {head.Opcode}: the ring was disposed.", head.Opcode);
                for (var o = head; o is not null;)
                {
                    var next = o.NextInChain;
                    o.FailLocally(error);
                    o = next;
                }
                return;
            }
            _incoming.Enqueue(head);
            if (Interlocked.CompareExchange(ref _wakeSignaled, 1, 0) == 0)
                SignalEventFd();
        }
        finally
        {
            Interlocked.Decrement(ref _producers);
        }
    }

    private void SignalEventFd()
    {
        ulong one = 1;
        LibC.write(_eventFd, &one, 8);
    }

    internal CancelableFuture<CancelOutcome> CancelOperation(Operation target, short version)
    {
        Interlocked.Exchange(ref target.CancelRequested, 1);
        var op = Begin<CancelOutcome>(io_uring_op.IORING_OP_ASYNC_CANCEL, &ProduceCancelOutcome);
        // Read after the flag is published: if the target is still queued, the owner thread will
        // see the flag when it gets to it and end it cancelled without submitting it.
        op.CancelTargetWasQueued = Volatile.Read(ref target.Stage) == Operation.StageQueued;
        op.CancelTarget = target;
        op.CancelTargetVersion = version;
        op.ProduceHandlesErrors = true;
        return Start(op, default);
    }

    private void RequestCancel(Operation target, short version)
    {
        if (target.Version != version || Volatile.Read(ref target.Stage) == Operation.StageCompleted || IsDisposed)
            return;
        CancelOperation(target, version);
    }

    private static CancelOutcome ProduceCancelOutcome(Operation op)
    {
        var target = op.CancelTarget!;
        var targetDone = target.Version != op.CancelTargetVersion || Volatile.Read(ref target.Stage) == Operation.StageCompleted;
        op.CancelTarget = null;
        return op.Res switch
        {
            0 => CancelOutcome.Cancelled,
            -Errno.ENOENT => targetDone ? CancelOutcome.AlreadyCompleted : CancelOutcome.NotFound,
            -Errno.EALREADY => CancelOutcome.AlreadyRunning,
            _ => throw new UringIOException(-op.Res, io_uring_op.IORING_OP_ASYNC_CANCEL),
        };
    }

    internal Exception MapError(Operation op, int res)
    {
        var errno = -res;
        if (errno != Errno.ECANCELED)
            return new UringIOException(errno, op.Opcode);
        if (Volatile.Read(ref _lifecycle) != Running && !op.IsCancelRequested)
            return new RingDisposedException($"{op.Opcode} was cancelled because the ring was disposed while it was in flight.", op.Opcode);
        if (op.HasLinkTimeout && !op.IsCancelRequested)
            return new TimeoutException($"{op.Opcode} did not complete before its linked timeout (IORING_OP_LINK_TIMEOUT) fired; the kernel cancelled it.");
        if (op.Token.IsCancellationRequested)
            return new OperationCanceledException($"{op.Opcode} was cancelled.", op.Token);
        if (op.InChain && !op.IsCancelRequested)
            return new OperationCanceledException($"{op.Opcode} was cancelled because an earlier member of its linked chain failed.");
        return new OperationCanceledException($"{op.Opcode} was cancelled.");
    }

    // ------------------------------------------------------------------ owner thread: SQ side

    private bool TryPrepare(Operation head)
    {
        VectorState.ZeroUpper();
        var count = (uint)head.ChainLength;
        if (count > 1 && Liburing.io_uring_sq_space_left(_ring) < count)
        {
            SubmitPending();
            if (Liburing.io_uring_sq_space_left(_ring) < count)
                return false;
        }

        if (head.Opcode != io_uring_op.IORING_OP_ASYNC_CANCEL && AnyCancelRequested(head))
        {
            // Cancelled while still queued: the kernel never sees it (nor the rest of its chain).
            for (var op = head; op is not null;)
            {
                var next = op.NextInChain;
                op.NextInChain = null;
                op.Complete(-Errno.ECANCELED, 0);
                op = next;
            }
            return true; // (if a continuation disposed the ring, FailQueued ends the rest)
        }

        for (var op = head; op is not null;)
        {
            var next = op.NextInChain;
            op.NextInChain = null;
            if (op.Opcode == io_uring_op.IORING_OP_ASYNC_CANCEL && op.CancelTarget is { } target && !op.InChain)
            {
                var targetStage = Volatile.Read(ref target.Stage);
                if (target.Version != op.CancelTargetVersion || targetStage == Operation.StageCompleted)
                {
                    op.Complete(op.CancelTargetWasQueued ? 0 : -Errno.ENOENT, 0);
                    if (_shutdownDone)
                        return true;
                    op = next;
                    continue;
                }
                if (targetStage == Operation.StageQueued)
                {
                    // Not prepared yet: it will be completed as cancelled when its turn comes.
                    op.Complete(0, 0);
                    if (_shutdownDone)
                        return true;
                    op = next;
                    continue;
                }
            }
            var sqe = Liburing.io_uring_get_sqe(_ring);
            if (sqe == null)
            {
                // Only a single operation gets here without a space check: make room, or wait.
                SubmitPending();
                sqe = Liburing.io_uring_get_sqe(_ring);
                if (sqe == null)
                    return false;
            }
            AssignSlot(op);
            try
            {
                Prepare(sqe, op);
            }
            catch (Exception e)
            {
                PrepareFailed(sqe, op, e);
                // FailLocally ran the future's continuation inline; if that disposed the ring,
                // its memory is gone and nothing more may be prepared.
                if (_shutdownDone)
                {
                    FailChain(next);
                    return true;
                }
                op = next;
                continue;
            }
            // What io_uring_sqe_set_data64 / io_uring_sqe_set_flags do, without two calls per SQE.
            // OR, not assign: io_uring_get_sqe cleared the flags, and a prep helper may have set
            // some (IOSQE_BUFFER_SELECT, for one).
            sqe->user_data = op.UserData;
            sqe->flags |= op.SqeFlags;
            Volatile.Write(ref op.Stage, Operation.StageInKernel);
            _inKernel++;
            op = next;
        }
        return true;
    }

    /// <summary>Preparing an SQE threw (a bug, or an argument only the owner thread could check):
    /// the SQE already taken becomes a NOP whose CQE is ignored, and the operation fails alone.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void PrepareFailed(io_uring_sqe* sqe, Operation op, Exception error)
    {
        Liburing.io_uring_prep_nop(sqe);
        sqe->user_data = PlaceholderUserData;
        sqe->flags = op.SqeFlags; // keeps a chain's links: the rest of the chain still runs
        _internalInKernel++;
        _slots[op.Slot].Operation = null;
        _freeSlots[_freeCount++] = op.Slot;
        op.FailLocally(error);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidOperationException CannotPrepare(io_uring_op opcode) => new($"The façade cannot prepare {opcode}.");

    private static bool AnyCancelRequested(Operation head)
    {
        for (var op = head; op is not null; op = op.NextInChain)
            if (op.IsCancelRequested)
                return true;
        return false;
    }

    private void Prepare(io_uring_sqe* sqe, Operation op)
    {
        switch (op.Opcode)
        {
            case io_uring_op.IORING_OP_NOP:
                Liburing.io_uring_prep_nop(sqe);
                break;
            case io_uring_op.IORING_OP_READ:
                Liburing.io_uring_prep_read(sqe, op.Fd, op.Buffer!.Pointer, op.Length, op.Offset);
                break;
            case io_uring_op.IORING_OP_WRITE:
                Liburing.io_uring_prep_write(sqe, op.Fd, op.Buffer!.Pointer, op.Length, op.Offset);
                break;
            case io_uring_op.IORING_OP_READV:
            case io_uring_op.IORING_OP_WRITEV:
                PrepareVector(sqe, op);
                break;
            case io_uring_op.IORING_OP_FSYNC:
                Liburing.io_uring_prep_fsync(sqe, op.Fd, op.OpFlags);
                break;
            case io_uring_op.IORING_OP_OPENAT:
                Liburing.io_uring_prep_openat(sqe, op.Fd, op.Path, (int)op.OpFlags, op.Mode);
                break;
            case io_uring_op.IORING_OP_CLOSE:
                Liburing.io_uring_prep_close(sqe, op.Fd);
                break;
            case io_uring_op.IORING_OP_STATX:
                Liburing.io_uring_prep_statx(sqe, op.Fd, op.Path, (int)op.OpFlags, op.Mode, (statx*)op.Scratch);
                break;
            case io_uring_op.IORING_OP_FALLOCATE:
                Liburing.io_uring_prep_fallocate(sqe, op.Fd, (int)op.Mode, op.Offset, op.Offset2);
                break;
            case io_uring_op.IORING_OP_SPLICE:
                Liburing.io_uring_prep_splice(sqe, op.Fd, (long)op.Offset, op.Fd2, (long)op.Offset2, op.Length, op.OpFlags);
                break;
            case io_uring_op.IORING_OP_TEE:
                Liburing.io_uring_prep_tee(sqe, op.Fd, op.Fd2, op.Length, op.OpFlags);
                break;
            case io_uring_op.IORING_OP_POLL_ADD:
                Liburing.io_uring_prep_poll_add(sqe, op.Fd, op.OpFlags);
                break;
            case io_uring_op.IORING_OP_TIMEOUT:
            case io_uring_op.IORING_OP_LINK_TIMEOUT:
            {
                var ts = (__kernel_timespec*)(op.Scratch + TimespecOffset);
                ts->tv_sec = op.TimeoutSeconds;
                ts->tv_nsec = op.TimeoutNanoseconds;
                if (op.Opcode == io_uring_op.IORING_OP_TIMEOUT)
                    Liburing.io_uring_prep_timeout(sqe, ts, op.Length, op.OpFlags);
                else
                    Liburing.io_uring_prep_link_timeout(sqe, ts, op.OpFlags);
                break;
            }
            case io_uring_op.IORING_OP_ASYNC_CANCEL:
                Liburing.io_uring_prep_cancel64(sqe, op.CancelTarget!.UserData, 0);
                break;
            default:
                // Socket, buffer-ring, multishot and registered-resource operations are prepared in Ring.Sockets.cs.
                if (PrepareNetworkOperation(sqe, op))
                    break;
                throw CannotPrepare(op.Opcode);
        }
    }

    // Kept out of Prepare: its object locals would make Prepare zero its frame with 256-bit AVX
    // stores right before calling liburing's SSE code (an AVX-to-SSE transition on every SQE).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void PrepareVector(io_uring_sqe* sqe, Operation op)
    {
        var iov = (iovec*)op.Scratch;
        var buffers = op.Buffers!;
        for (var i = 0; i < buffers.Length; i++)
        {
            iov[i].iov_base = buffers[i].Pointer;
            iov[i].iov_len = (nuint)buffers[i].Length;
        }
        if (op.Opcode == io_uring_op.IORING_OP_READV)
            Liburing.io_uring_prep_readv(sqe, op.Fd, iov, (uint)buffers.Length, op.Offset);
        else
            Liburing.io_uring_prep_writev(sqe, op.Fd, iov, (uint)buffers.Length, op.Offset);
    }

    private void AssignSlot(Operation op)
    {
        int index;
        if (_freeCount > 0)
        {
            index = _freeSlots[--_freeCount];
        }
        else
        {
            index = _slotHighWater++;
            if (index == _slots.Length)
            {
                Array.Resize(ref _slots, _slots.Length * 2);
                Array.Resize(ref _freeSlots, _slots.Length);
            }
            if (index / SlotsPerChunk == _scratchChunks.Count)
                _scratchChunks.Add((IntPtr)NativeMemoryStatistics.AllocateZeroed(SlotsPerChunk * ScratchSize, 64));
            _slots[index].Scratch = (byte*)_scratchChunks[index / SlotsPerChunk] + (index % SlotsPerChunk) * ScratchSize;
        }
        ref var slot = ref _slots[index];
        var generation = (slot.Generation + 1) & 0x7FFF_FFFF;
        if (generation == 0)
            generation = 1;
        slot.Generation = generation;
        slot.Operation = op;
        op.Slot = index;
        op.UserData = ((ulong)generation << 32) | (uint)index;
        op.Scratch = slot.Scratch;
    }

    private void ArmWake()
    {
        if (_wakeArmed)
            return;
        var sqe = Liburing.io_uring_get_sqe(_ring);
        if (sqe == null)
        {
            SubmitPending();
            sqe = Liburing.io_uring_get_sqe(_ring);
            if (sqe == null)
                return; // try again next iteration
        }
        Liburing.io_uring_prep_read(sqe, _eventFd, _wakeBuffer, 8, 0);
        Liburing.io_uring_sqe_set_data64(sqe, WakeUserData);
        _wakeArmed = true;
        _internalInKernel++;
    }

    /// <summary>Submits prepared SQEs; on pressure (EBUSY/EAGAIN) reaps first and leaves the rest for later.</summary>
    private void SubmitPending()
    {
        _enterCalls++;
        var r = Liburing.io_uring_submit(_ring);
        if (r == -Errno.EBUSY || r == -Errno.EAGAIN)
            Reap();
        else if (r < 0 && r != -Errno.EINTR)
            throw new UringIOException(-r, "io_uring_submit");
    }

    private bool DrainIncoming()
    {
        var any = false;
        while (_backlog.Count > 0 && !_shutdownDone)
        {
            if (!TryPrepare(_backlog.Peek()))
                return true;
            _backlog.Dequeue();
            any = true;
        }
        while (!_shutdownDone && _incoming.TryDequeue(out var op))
        {
            any = true;
            if (_backlog.Count > 0 || !TryPrepare(op))
                _backlog.Enqueue(op);
        }
        return any;
    }

    // ------------------------------------------------------------------ owner thread: CQ side

    /// <summary>
    /// Copies ready CQEs into the pending list, frees their CQ slots, then dispatches the list.
    /// Continuations run inside Dispatch and may re-enter (a synchronous Wait on the owner
    /// thread): the nested call dispatches from the same list, so a completion already copied
    /// out of the CQ is never stranded behind the continuation that waits for it.
    /// </summary>
    private int Reap()
    {
        var total = 0;
        var cqes = stackalloc io_uring_cqe*[ReapBatch];
        while (!_shutdownDone)
        {
            var n = (int)Liburing.io_uring_peek_batch_cqe(_ring, cqes, ReapBatch);
            if (n > 0)
            {
                EnsurePendingCapacity(n);
                for (var i = 0; i < n; i++)
                {
                    var at = (_pendingHead + _pendingCount) & (_pendingUserData.Length - 1);
                    _pendingUserData[at] = cqes[i]->user_data;
                    _pendingResults[at] = cqes[i]->res;
                    _pendingFlags[at] = cqes[i]->flags;
                    _pendingCount++;
                }
                // Free the CQ slots before running continuations, which may submit more.
                Liburing.io_uring_cq_advance(_ring, (uint)n);
            }
            if (_pendingCount == 0)
                break;
            while (_pendingCount > 0)
            {
                var at = _pendingHead;
                _pendingHead = (_pendingHead + 1) & (_pendingUserData.Length - 1);
                _pendingCount--;
                total++;
                Dispatch(_pendingUserData[at], _pendingResults[at], _pendingFlags[at]);
                if (_shutdownDone)
                    return total; // a continuation disposed the ring
            }
            if (n < ReapBatch)
                break;
        }
        return total;
    }

    private void EnsurePendingCapacity(int extra)
    {
        if (_pendingCount + extra <= _pendingUserData.Length)
            return;
        var size = _pendingUserData.Length;
        while (size < _pendingCount + extra)
            size *= 2;
        var ud = new ulong[size];
        var res = new int[size];
        var fl = new uint[size];
        for (var i = 0; i < _pendingCount; i++)
        {
            var from = (_pendingHead + i) & (_pendingUserData.Length - 1);
            ud[i] = _pendingUserData[from];
            res[i] = _pendingResults[from];
            fl[i] = _pendingFlags[from];
        }
        _pendingUserData = ud;
        _pendingResults = res;
        _pendingFlags = fl;
        _pendingHead = 0;
    }

    private void Dispatch(ulong userData, int res, uint flags)
    {
        if ((userData & InternalTag) != 0)
        {
            _internalInKernel--;
            if (userData == WakeUserData)
            {
                _wakeArmed = false;
                Volatile.Write(ref _wakeSignaled, 0);
            }
            return;
        }
        var index = (int)(uint)userData;
        if ((uint)index >= (uint)_slotHighWater)
            return;
        ref var slot = ref _slots[index];
        var op = slot.Operation;
        if (op is null || slot.Generation != (uint)(userData >> 32))
            return;
        // IORING_CQE_F_MORE: more CQEs follow for this user_data (multishot, zero-copy send), so the
        // operation keeps its slot; F_NOTIF ends a zero-copy send. See Ring.Sockets.cs.
        if ((flags & (Constants.IORING_CQE_F_MORE | Constants.IORING_CQE_F_NOTIF)) != 0 && HandleMultiCompletion(op, ref res, flags))
            return;
        slot.Operation = null;
        _freeSlots[_freeCount++] = index;
        _inKernel--;
        op.Complete(res, flags);
    }

    // ------------------------------------------------------------------ driving

    /// <summary>
    /// One turn of the loop on the owner thread (<see cref="RingThreading.CallerThread"/>):
    /// prepares queued operations, submits, and reaps; waits up to <paramref name="timeout"/>
    /// for a completion when none is ready. Returns the number of CQEs processed.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called on another thread than the owner.</exception>
    public int RunOnce(TimeSpan timeout)
    {
        if (!IsOwnerThread)
            throw new InvalidOperationException("RunOnce must be called on the thread that owns the ring.");
        if (_shutdownDone)
            throw new RingDisposedException("The ring was disposed.");
        return Turn((int)Math.Clamp((long)timeout.TotalMilliseconds, -1, int.MaxValue));
    }

    private int Turn(int timeoutMs)
    {
        VectorState.ZeroUpper();
        if (Volatile.Read(ref _lifecycle) == Running)
            ArmWake();
        DrainIncoming();
        if (_shutdownDone)
            return 0;
        _enterCalls++;
        var r = Liburing.io_uring_submit_and_get_events(_ring);
        if (r == -Errno.EBUSY || r == -Errno.EAGAIN)
            r = 0;
        else if (r < 0 && r != -Errno.EINTR)
            throw new UringIOException(-r, "io_uring_submit_and_get_events");
        var reaped = Reap();
        if (reaped > 0 || timeoutMs == 0 || !_incoming.IsEmpty || _shutdownDone)
            return reaped;
        if (_backlog.Count > 0 && _inKernel == 0)
            return reaped;
        // Disposing: the wake-up read may not be armed any more (ArmWake stops once disposal
        // starts), so sleeping could never end. The caller's loop re-checks the state instead.
        if (Volatile.Read(ref _lifecycle) != Running)
            return reaped;
        WaitForCompletion(timeoutMs);
        return Reap();
    }

    private void WaitForCompletion(int timeoutMs)
    {
        _enterCalls++;
        io_uring_cqe* cqe;
        if (timeoutMs < 0)
        {
            Liburing.io_uring_submit_and_wait(_ring, 1);
            return;
        }
        __kernel_timespec ts;
        ts.tv_sec = timeoutMs / 1000;
        ts.tv_nsec = timeoutMs % 1000 * 1_000_000L;
        Liburing.io_uring_wait_cqe_timeout(_ring, &cqe, &ts);
    }

    internal bool DriveUntilCompleted<T>(Operation<T> op, short token, int timeoutMs)
    {
        var deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        while (!op.IsCompleted(token))
        {
            if (_shutdownDone)
                return op.IsCompleted(token);
            var remaining = timeoutMs < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
            Turn(remaining); // at least one turn, even for Wait(TimeSpan.Zero): polling makes progress
            if (timeoutMs >= 0 && Environment.TickCount64 >= deadline)
                return op.IsCompleted(token);
        }
        return true;
    }

    private void LoopMain()
    {
        try
        {
            while (Volatile.Read(ref _lifecycle) == Running)
                Turn(-1);
        }
        finally
        {
            Shutdown();
        }
    }

    // ------------------------------------------------------------------ shutdown

    /// <summary>
    /// Cancels what is in flight, waits (bounded by <see cref="RingOptions.ShutdownTimeout"/>)
    /// for the CQEs, fails the futures, releases memory, and closes the ring. Idempotent.
    /// Called on the owner thread (including from a continuation running on the loop thread)
    /// it shuts down inline.
    /// </summary>
    /// <exception cref="InvalidOperationException">A <see cref="RingThreading.CallerThread"/> ring disposed from another thread.</exception>
    public void Dispose()
    {
        if (IsOwnerThread)
        {
            // On the owner thread (CallerThread mode, or a continuation on the loop thread):
            // shut down right here; the loop notices when the stack unwinds.
            if (Interlocked.CompareExchange(ref _lifecycle, Disposing, Running) == Running)
                Shutdown();
            return;
        }
        if (_options.Threading == RingThreading.CallerThread)
            throw new InvalidOperationException("A CallerThread ring must be disposed on the thread that owns it.");

        Interlocked.Increment(ref _producers); // keeps the eventfd open while we signal it
        try
        {
            if (Interlocked.CompareExchange(ref _lifecycle, Disposing, Running) != Running)
            {
                if (!IsOwnerThread)
                    _thread!.Join();
                return;
            }
            SignalEventFd();
        }
        finally
        {
            Interlocked.Decrement(ref _producers);
        }
        if (!IsOwnerThread)
            _thread!.Join();
    }

    private void Shutdown()
    {
        if (_shutdownDone)
            return;
        var stopwatch = Stopwatch.StartNew();

        // 1. Nothing new gets in; what never reached the kernel fails right away.
        WaitForProducers();
        FailQueued();

        // 2. Cancel everything in the kernel and wait, bounded, for the CQEs.
        if (_inKernel > 0 || _internalInKernel > 0)
        {
            var sqe = Liburing.io_uring_get_sqe(_ring);
            if (sqe == null)
            {
                SubmitPending();
                sqe = Liburing.io_uring_get_sqe(_ring);
            }
            if (sqe != null)
            {
                Liburing.io_uring_prep_cancel64(sqe, 0, (int)Constants.IORING_ASYNC_CANCEL_ANY);
                Liburing.io_uring_sqe_set_data64(sqe, CancelAllUserData);
                _internalInKernel++;
            }
            var deadline = (long)_options.ShutdownTimeout.TotalMilliseconds;
            while ((_inKernel > 0 || _internalInKernel > 0) && stopwatch.ElapsedMilliseconds < deadline)
            {
                Liburing.io_uring_submit_and_get_events(_ring);
                if (Reap() == 0)
                    WaitForCompletion((int)Math.Clamp(deadline - stopwatch.ElapsedMilliseconds, 1, 50));
                FailQueued(); // continuations may have tried to start more
            }
        }

        // 3. Whatever the kernel never answered keeps its memory forever.
        var leaked = _inKernel > 0 || _internalInKernel > 0;
        if (_inKernel > 0)
        {
            for (var i = 0; i < _slotHighWater; i++)
            {
                if (_slots[i].Operation is not { } op)
                    continue;
                _slots[i].Operation = null;
                op.QuarantineBuffers();
                op.Buffer = null;
                op.Buffers = null;
                op.FailLocally(new RingDisposedException(
                    $"{op.Opcode} did not complete within the ring's shutdown timeout ({_options.ShutdownTimeout}); its buffers are quarantined and never freed.", op.Opcode));
            }
            _inKernel = 0;
        }

        Volatile.Write(ref _lifecycle, Disposed);
        WaitForProducers();
        FailQueued();
        _shutdownDone = true;

        LibC.close(_eventFd);
        _eventFd = -1;
        Liburing.io_uring_queue_exit(_ring);
        NativeMemoryStatistics.Free(_ring, RingAllocationSize);
        _ring = null;
        if (!leaked)
        {
            NativeMemoryStatistics.Free(_wakeBuffer, 8);
            foreach (var chunk in _scratchChunks)
                NativeMemoryStatistics.Free((void*)chunk, SlotsPerChunk * ScratchSize);
        }
        _wakeBuffer = null;
        _scratchChunks.Clear();
    }

    private void WaitForProducers()
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref _producers) != 0)
            spin.SpinOnce();
    }

    private void FailQueued()
    {
        while (_backlog.Count > 0)
            FailChain(_backlog.Dequeue());
        while (_incoming.TryDequeue(out var op))
            FailChain(op);
    }

    private static void FailChain(Operation? head)
    {
        for (var op = head; op is not null;)
        {
            var next = op.NextInChain;
            op.NextInChain = null;
            op.FailLocally(new RingDisposedException($"{op.Opcode} was queued but never submitted: the ring was disposed.", op.Opcode));
            op = next;
        }
    }
}
