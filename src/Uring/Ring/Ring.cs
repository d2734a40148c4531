using System.Runtime.CompilerServices;
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
/// <para>The parts, each in its own file: setup and probe (<c>Ring.Setup.cs</c>,
/// <see cref="KernelProbe"/>), submission on the owner thread and the cross-thread queue
/// (<c>Ring.Submission.cs</c>, <see cref="CrossThreadQueue"/>, <see cref="SlotTable"/>), completion
/// dispatch (<c>Ring.Completion.cs</c>), the loop (<c>Ring.Loop.cs</c>), cancellation
/// (<c>Ring.Cancellation.cs</c>), shutdown (<c>Ring.Shutdown.cs</c>); the operations themselves are
/// generated from <c>Operations/operations.json</c> (<c>Ring.Operations.g.cs</c>).</para>
/// </remarks>
public sealed unsafe partial class Ring : IDisposable
{
    /// <summary>AT_FDCWD: resolve relative paths against the current directory.</summary>
    public const int CurrentDirectory = -100;

    /// <summary>Offset value meaning "the file's current position" (IORING_FEAT_RW_CUR_POS).</summary>
    public const long CurrentPosition = -1;

    private const int Running = 0, Disposing = 1, Disposed = 2;

    private readonly RingOptions _options;
    private readonly Thread? _thread;
    private io_uring* _ring;
    private int _lifecycle;
    private int _ownerThreadId;
    private nuint _ownerStackLow, _ownerStackSize; // the owner thread's stack (see IsOnOwnerStack)
    private bool _shutdownDone;

    /// <summary>Creates a ring (and, by default, its loop thread).</summary>
    /// <exception cref="UringIOException">The kernel refused the ring (errno says why: EMFILE when
    /// the process is out of file descriptors, ENOMEM with the RLIMIT_MEMLOCK limit named…).</exception>
    /// <exception cref="InvalidOperationException">The loop thread could not be started for lack of
    /// threads or memory (lack of file descriptors is a <see cref="UringIOException"/> with EMFILE).</exception>
    public Ring(RingOptions? options = null)
    {
        _options = options ?? new RingOptions();
        LoadLiburing();
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
        try
        {
            _thread.Start();
        }
        catch (OutOfMemoryException e)
        {
            // .NET reports any failed thread start as OutOfMemoryException: a failed pthread_create
            // (EAGAIN: a thread, memory or map-count limit), and also a thread that could not open
            // the pipe the runtime creates at every thread start (EMFILE/ENFILE). No ring exists yet.
            if (LibC.DescriptorsExhausted() is int errno)
                throw new UringIOException(errno, "starting the ring's loop thread (the runtime needs a descriptor for it) — the process is out of file descriptors (ulimit -n)");
            throw new InvalidOperationException($"The ring's loop thread could not be started ({e.Message}); the process is out of threads or memory. RingThreading.CallerThread needs no thread.", e);
        }
        started.Wait();
        if (startupError is not null)
        {
            _thread.Join();
            throw startupError;
        }
    }

    /// <summary>
    /// Loads liburing-ffi.so.2 before anything touches the bindings' function table, whose static
    /// initialiser would remember a failure for the life of the process; a load that failed because
    /// the process was out of descriptors is an EMFILE error, and the next ring tries again.
    /// </summary>
    private static void LoadLiburing()
    {
        try
        {
            LiburingLibrary.EnsureLoaded();
        }
        catch (DllNotFoundException e) when (LibC.DescriptorsExhausted() is int errno)
        {
            throw new UringIOException(errno, $"loading {LiburingLibrary.FileName} — the process is out of file descriptors (ulimit -n)", e);
        }
    }

    /// <summary>The running kernel's release string (from /proc/sys/kernel/osrelease).</summary>
    public static string KernelRelease => KernelProbe.Release;

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
    public bool IsSupported(io_uring_op opcode) => KernelProbe.IsSupported(opcode);

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

    /// <summary>True once the shutdown after <see cref="Dispose"/> has collected the CQEs and closed the ring.</summary>
    internal bool IsShutDown => Volatile.Read(ref _shutdownDone);

    internal io_uring* NativeRing => _ring;

    internal bool ContinuationsRunAsynchronously => _options.RunContinuationsAsynchronously;
}
