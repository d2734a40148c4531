using System.Runtime.CompilerServices;
using Uring.Bindings;

namespace Uring;

// Submission: starting an operation (its buffers move to the kernel, a cancellation token is
// registered), handing it to the owner thread — at once on that thread, through the
// cross-thread queue from any other — and, on the owner thread, turning it into an SQE.
public sealed unsafe partial class Ring
{
    private const ulong InternalTag = 1UL << 63;
    private const ulong PlaceholderUserData = InternalTag | 3;

    private readonly CrossThreadQueue _crossThread = new();
    private readonly Queue<Operation> _backlog = new();  // owner thread: chains waiting for SQ room, in order
    private readonly SlotTable _slots = new();
    private int _inKernel;            // user operations with an SQE prepared and no CQE yet
    private io_uring_sqe* _preparingSqe; // the SQE an operation's Prepare is filling (see PrepareMembers)
    private int _preparingSlot;          // and that operation's slot
    private int _internalInKernel;    // the wake read, placeholders and shutdown cancels
    private long _enterCalls;          // liburing calls that may enter the kernel (tests check batching)

    // Operations recycled on the owner thread, per kind (see PooledOperation).
    private object?[] _operationCaches = new object?[64];

    private sealed class OperationCache<TOp>
    {
        // Struct entries: storing into a TOp[] of a shared generic instantiation would pay the
        // covariant array-store check (the JIT cannot see that the kinds are sealed there).
        public readonly CacheEntry<TOp>[] Items = new CacheEntry<TOp>[64];
        public int Count;
    }

    private struct CacheEntry<TOp>
    {
        public TOp? Item;
    }

    /// <summary>An operation may start: the ring is running and the kernel has the opcode.</summary>
    internal void CheckCanStart(io_uring_op opcode)
    {
        if (Volatile.Read(ref _lifecycle) != Running)
            throw new RingDisposedException($"Cannot start {opcode}: the ring was disposed.", opcode);
        if (!KernelProbe.IsSupported(opcode))
            throw new OpcodeNotSupportedException(opcode, KernelRelease);
    }

    /// <summary>An operation object recycled earlier on this ring's owner thread. Call on the owner thread only.</summary>
    internal TOp? TakeCachedOperation<TOp>(int index) where TOp : class
    {
        var caches = _operationCaches;
        if ((uint)index >= (uint)caches.Length || caches[index] is not { } entry)
            return null;
        var cache = Unsafe.As<OperationCache<TOp>>(entry);
        if (cache.Count == 0)
            return null;
        var at = --cache.Count;
        var op = cache.Items[at].Item;
        cache.Items[at].Item = null;
        return op;
    }

    /// <summary>Keeps a consumed operation for reuse by the owner thread, without a lock or a
    /// thread-local lookup. Only on the owner thread (where continuations consume most results).</summary>
    internal bool TryCacheOperation<TOp>(TOp op, int index) where TOp : class
    {
        if (_shutdownDone || !IsOnOwnerStack)
            return false;
        if ((uint)index >= (uint)_operationCaches.Length)
            Array.Resize(ref _operationCaches, Math.Max(index + 1, _operationCaches.Length * 2));
        var cache = _operationCaches[index] is { } entry ? Unsafe.As<OperationCache<TOp>>(entry) : (OperationCache<TOp>)(_operationCaches[index] = new OperationCache<TOp>());
        if (cache.Count == cache.Items.Length)
            return false;
        cache.Items[cache.Count++].Item = op;
        return true;
    }

    /// <summary>Takes the operation's buffers and hands it to the owner thread.</summary>
    internal CancelableFuture<T> Start<T>(Operation<T> op, CancellationToken cancellationToken)
    {
        var future = new CancelableFuture<T>(op, op.Version);
        try
        {
            op.LendBuffers(null);
        }
        catch
        {
            // Ownership was refused: the operation never existed for the caller.
            op.Discard();
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

    /// <summary>Takes every member's buffers (all or nothing) and queues the chain as one unit.</summary>
    internal void StartChain(Operation[] members)
    {
        if (members.Length > SubmissionQueueEntries)
        {
            foreach (var m in members)
                m.Abort(new ArgumentException("chain too long"));
            throw new ArgumentException($"A chain of {members.Length} operations cannot fit in an SQ of {SubmissionQueueEntries} entries.");
        }
        // A buffer used by several members (read into it, then write it out) is lent once and
        // leased by each further member; it comes back with the last of their CQEs.
        var lent = new List<OwnershipMemory>();
        try
        {
            foreach (var m in members)
                m.LendBuffers(lent);
        }
        catch
        {
            foreach (var b in lent)
                b.RollbackTransfer();
            foreach (var m in members)
                m.Abort(new InvalidOperationException("The chain was not submitted: a buffer was busy."));
            throw;
        }
        Submit(members[0]);
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
        var o = head;
        do
        {
            Volatile.Write(ref o.Stage, Operation.StageQueued);
            o.SubmittedByOwner = true;
            o = o.NextInChain;
        }
        while (o is not null);
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
        _crossThread.EnterProducer();
        try
        {
            if (Volatile.Read(ref _lifecycle) != Running)
            {
                FailChain(head, new RingDisposedException($"Cannot start {head.Opcode}: the ring was disposed.", head.Opcode));
                return;
            }
            _crossThread.Enqueue(head);
        }
        finally
        {
            _crossThread.ExitProducer();
        }
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

        // A cancel is never cancelled itself (ResolvesBeforePrepare marks cancels).
        if (!head.ResolvesBeforePrepare && (head.IsCancelRequested || (count > 1 && AnyCancelRequested(head))))
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

        // Preparing runs outside this method's try region: the JIT does not inline a P/Invoke
        // inside one (the prep helper of an operation kind it devirtualised and inlined here
        // would go through a generic call-out stub, a GC transition per SQE).
        Operation? rest = head;
        while (true)
        {
            try
            {
                return PrepareMembers(rest);
            }
            catch (Exception e) when (_preparingSqe != null)
            {
                rest = PrepareFailedAt(e);
                if (rest is null)
                    return true;
            }
        }
    }

    /// <summary>Takes an SQE for each member from <paramref name="op"/> on and fills it. False when
    /// a single operation finds no SQE (it waits in the backlog). A member's Prepare that throws
    /// leaves <see cref="_preparingSqe"/> set for <see cref="PrepareFailedAt"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool PrepareMembers(Operation? op)
    {
        while (op is not null)
        {
            var next = op.NextInChain;
            if (op.ResolvesBeforePrepare && op.TryResolveWithoutKernel())
            {
                op.NextInChain = null;
                if (_shutdownDone)
                    return true;
                op = next;
                continue;
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
            _slots.Assign(op);
            _preparingSqe = sqe;
            _preparingSlot = op.Slot;
            op.Prepare(sqe);
            _preparingSqe = null;
            op.NextInChain = null;
            // What io_uring_sqe_set_data64 / io_uring_sqe_set_flags do, without two calls per SQE.
            // OR, not assign: io_uring_get_sqe cleared the flags, and a prep helper may have set
            // some (IOSQE_FIXED_FILE, for one).
            sqe->user_data = op.UserData;
            sqe->flags |= op.SqeFlags;
            Volatile.Write(ref op.Stage, Operation.StageInKernel);
            _inKernel++;
            op = next;
        }
        return true;
    }

    /// <summary>The member whose SQE <see cref="PrepareMembers"/> was filling threw: it fails alone
    /// (<see cref="PrepareFailed"/>); returns the rest of its chain to prepare, or null when there
    /// is none or nothing more may be prepared.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Operation? PrepareFailedAt(Exception error)
    {
        var sqe = _preparingSqe;
        _preparingSqe = null;
        var op = _slots.At(_preparingSlot)!;
        var next = op.NextInChain;
        op.NextInChain = null;
        PrepareFailed(sqe, op, error);
        // FailLocally ran the future's continuation inline; if that disposed the ring, its memory
        // is gone and nothing more may be prepared.
        if (_shutdownDone)
        {
            FailChain(next, null);
            return null;
        }
        return next;
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
        _slots.Release(op.Slot);
        op.FailLocally(error);
    }

    private static bool AnyCancelRequested(Operation head)
    {
        for (var op = head; op is not null; op = op.NextInChain)
            if (op.IsCancelRequested)
                return true;
        return false;
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

    /// <summary>Moves the backlog, then what other threads queued, into the SQ (owner thread).</summary>
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
        while (!_shutdownDone && _crossThread.TryDequeue(out var op))
        {
            any = true;
            if (_backlog.Count > 0 || !TryPrepare(op))
                _backlog.Enqueue(op);
        }
        return any;
    }

    /// <summary>Ends every member of a chain that never reached the kernel (null error: the ring was disposed).</summary>
    private static void FailChain(Operation? head, Exception? error)
    {
        for (var op = head; op is not null;)
        {
            var next = op.NextInChain;
            op.NextInChain = null;
            op.FailLocally(error ?? new RingDisposedException($"{op.Opcode} was queued but never submitted: the ring was disposed.", op.Opcode));
            op = next;
        }
    }
}
