using Uring.Bindings;

namespace Uring;

/// <summary>
/// One submission: what to prepare (the descriptor, written by the thread that starts it),
/// and its kernel-side state (written by the ring's owner thread only). Pooled through
/// <see cref="Operation{T}"/>; a future names it together with a version token.
/// </summary>
internal abstract unsafe class Operation
{
    internal const int StageIdle = 0, StageQueued = 1, StageInKernel = 2, StageCompleted = 3;

    // ---- descriptor ----
    internal Ring Ring = null!;
    internal io_uring_op Opcode;
    internal int Fd, Fd2;
    internal ulong Offset, Offset2;
    internal uint Length, OpFlags, Mode;
    internal long TimeoutSeconds, TimeoutNanoseconds;
    internal OwnershipMemory? Buffer;
    internal OwnershipMemory[]? Buffers;
    internal byte* Path;
    internal nuint PathSize;
    internal Operation? CancelTarget;
    internal short CancelTargetVersion;
    internal byte SqeFlags;
    internal Operation? NextInChain;
    internal int ChainLength = 1;
    internal bool InChain, HasLinkTimeout, ProduceHandlesErrors;
    internal bool CancelTargetWasQueued; // for a cancel: the target had not reached the kernel when cancel was asked
    internal bool SubmittedByOwner;      // handed to the ring on its owner thread: from then on only that thread completes it
    internal CancellationToken Token;
    internal CancellationTokenRegistration Registration;
    internal short StartVersion;

    // ---- kernel side (owner thread) ----
    internal int Slot = -1;
    internal ulong UserData;
    internal int Stage;          // Volatile: read by other threads for quick answers
    internal int CancelRequested; // Volatile
    internal byte* Scratch;
    internal int Res;
    internal uint CqeFlags;

    internal abstract short Version { get; }

    private static int s_cacheIndexes;

    /// <summary>Numbers the <see cref="Operation{T}"/> types for the rings' per-type caches.</summary>
    protected static int NextCacheIndex() => Interlocked.Increment(ref s_cacheIndexes) - 1;

    /// <summary>Delivers the result of a CQE (or of a local decision that stands for one).</summary>
    internal abstract void Complete(int res, uint cqeFlags);

    /// <summary>Ends an operation that never reached the kernel.</summary>
    internal abstract void FailLocally(Exception error);

    internal bool IsCancelRequested => Volatile.Read(ref CancelRequested) != 0;

    internal void MoveBuffersToKernel()
    {
        if (Buffer is not null)
        {
            Buffer.TransferToKernel(Opcode);
        }
        else if (Buffers is not null)
        {
            var done = 0;
            try
            {
                for (; done < Buffers.Length; done++)
                    Buffers[done].TransferToKernel(Opcode);
            }
            catch
            {
                for (var i = 0; i < done; i++)
                    Buffers[i].RollbackTransfer();
                throw;
            }
        }
    }

    /// <summary>Success: the caller owns the buffers again.</summary>
    internal void ReturnBuffers()
    {
        Buffer?.ReturnFromKernel();
        if (Buffers is not null)
            foreach (var b in Buffers)
                b.ReturnFromKernel();
    }

    /// <summary>Failure or cancel, after the CQE (or before any submission): release the buffers.</summary>
    internal void ReleaseBuffers()
    {
        Buffer?.ReleaseAfterKernel();
        if (Buffers is not null)
            foreach (var b in Buffers)
                b.ReleaseAfterKernel();
    }

    internal void QuarantineBuffers()
    {
        Buffer?.Quarantine();
        if (Buffers is not null)
            foreach (var b in Buffers)
                b.Quarantine();
        Path = null; // may still be read by the kernel: leak it rather than free it
    }

    internal void FreePath()
    {
        if (Path != null)
        {
            NativeMemoryStatistics.Free(Path, PathSize);
            Path = null;
            PathSize = 0;
        }
    }

    protected void ClearDescriptor()
    {
        Ring = null!;
        Opcode = default;
        Fd = Fd2 = 0;
        Offset = Offset2 = 0;
        Length = OpFlags = Mode = 0;
        TimeoutSeconds = TimeoutNanoseconds = 0;
        Buffer = null;
        Buffers = null;
        Path = null;
        PathSize = 0;
        CancelTarget = null;
        CancelTargetVersion = 0;
        SqeFlags = 0;
        NextInChain = null;
        ChainLength = 1;
        InChain = HasLinkTimeout = ProduceHandlesErrors = CancelTargetWasQueued = SubmittedByOwner = false;
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
