using Uring.Bindings;

namespace Uring;

/// <summary>
/// One submission as the ring sees it: its place in the kernel (slot, user_data, stage), its
/// place in a linked chain, and the hooks each operation kind implements — how to fill its SQE
/// (<see cref="Prepare"/>), which buffers it lends to the kernel and what happens to them when
/// the kernel is done. The kind's own arguments are fields of its own type (one type per
/// operation kind, most of them generated from <c>operations.json</c>); the completion state is
/// in <see cref="Operation{T}"/>.
/// </summary>
internal abstract unsafe class Operation
{
    internal const int StageIdle = 0, StageQueued = 1, StageInKernel = 2, StageCompleted = 3;

    // ---- written by the thread that starts the operation ----
    internal Ring Ring = null!;
    internal io_uring_op Opcode;
    internal byte SqeFlags;               // IOSQE_* ORed into the SQE: links, fixed file, buffer select
    internal Operation? NextInChain;
    internal int ChainLength = 1;
    internal bool InChain, HasLinkTimeout;
    internal bool ProduceHandlesErrors;   // a negative res goes to the kind's result code, not to MapError
    internal bool ResolvesBeforePrepare;  // asks TryResolveWithoutKernel before taking an SQE (cancels)
    internal bool SubmittedByOwner;       // handed to the ring on its owner thread: only that thread completes it
    internal CancellationToken Token;
    internal CancellationTokenRegistration Registration;
    internal long StartVersion;

    // ---- kernel side (owner thread) ----
    internal int Slot = -1;
    internal ulong UserData;
    internal int Stage;                   // Volatile: read by other threads for quick answers
    internal int CancelRequested;         // Volatile
    internal byte* Scratch;               // the slot's scratch memory (Ring.ScratchSize bytes)
    internal int Res;
    internal uint CqeFlags;

    internal abstract long Version { get; }

    /// <summary>Fills the SQE from the kind's fields (owner thread; the ring sets user_data and flags afterwards).</summary>
    internal abstract void Prepare(io_uring_sqe* sqe);

    /// <summary>Delivers the result of a CQE (or of a local decision that stands for one).</summary>
    internal abstract void Complete(int res, uint cqeFlags);

    /// <summary>Ends an operation that never reached the kernel.</summary>
    internal abstract void FailLocally(Exception error);

    /// <summary>With <see cref="ResolvesBeforePrepare"/>: ends the operation without an SQE when the
    /// kernel has nothing left to do for it (owner thread). True when it did.</summary>
    internal virtual bool TryResolveWithoutKernel() => false;

    /// <summary>A CQE with IORING_CQE_F_MORE or IORING_CQE_F_NOTIF (owner thread). True when the
    /// operation stays in the kernel (more CQEs follow); false to retire it with <paramref name="res"/>.</summary>
    internal virtual bool OnAdditionalCompletion(ref int res, uint flags) => false;

    // ---- what the operation lends to the kernel ----

    /// <summary>Moves the operation's buffers to the kernel, all or none. In a chain,
    /// <paramref name="chainLent"/> collects what the chain lent so far (a buffer several members
    /// use is lent once and leased by the others).</summary>
    /// <exception cref="BufferBusyException">A buffer cannot be lent now (nothing stays lent).</exception>
    internal virtual void LendBuffers(List<OwnershipMemory>? chainLent) { }

    /// <summary>The kernel is done (the CQE, or a failure before submission): buffers go back to
    /// the caller on success and are released otherwise; native memory the kind allocated is freed.</summary>
    internal virtual void GiveBack(bool success) { }

    /// <summary>The kernel never answered: buffers and native memory are kept allocated forever.</summary>
    internal virtual void Abandon() { }

    /// <summary>Lending was refused or never happened: forget the buffers so that nothing touches them.</summary>
    internal virtual void ForgetBuffers() { }

    internal bool IsCancelRequested => Volatile.Read(ref CancelRequested) != 0;

    /// <summary>Ends an operation that never lent its buffers (they stay the caller's); whoever
    /// holds its future sees <paramref name="error"/>.</summary>
    internal void Abort(Exception error)
    {
        ForgetBuffers();
        FailLocally(error);
    }

    private static int s_cacheIndexes;

    /// <summary>Numbers the pooled operation types for the rings' per-type caches.</summary>
    protected static int NextCacheIndex() => Interlocked.Increment(ref s_cacheIndexes) - 1;

    /// <summary>Clears the state every kind shares, before the object is pooled.</summary>
    protected void ClearCommon()
    {
        Ring = null!;
        Opcode = default;
        SqeFlags = 0;
        NextInChain = null;
        ChainLength = 1;
        InChain = HasLinkTimeout = ProduceHandlesErrors = ResolvesBeforePrepare = SubmittedByOwner = false;
        Token = default;
        Registration = default;
        Slot = -1;
        UserData = 0;
        Stage = StageIdle;
        CancelRequested = 0;
        Scratch = null;
        Res = 0;
        CqeFlags = 0;
    }
}
