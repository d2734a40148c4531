using Uring.Bindings;

namespace Uring;

// Batches (RingBatch): operations without futures whose SQEs their owner writes directly and whose
// completions are collected into the batch when the ring reaps. Their user_data carries BatchTag,
// the batch's id and the entry's index, so the dispatcher routes them without the slot table.
public sealed unsafe partial class Ring
{
    private const ulong BatchTag = 1UL << 62;
    private RingBatch?[] _batches = new RingBatch?[4];
    private int _batchCount;

    /// <summary>
    /// A <see cref="RingBatch"/>: up to <paramref name="capacity"/> operations without futures, for
    /// C-like throughput. Call on the ring's owner thread.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not on the owner thread.</exception>
    public RingBatch CreateBatch(int capacity = 256)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        if (!IsOnOwnerStack)
            throw new InvalidOperationException("A RingBatch is created and used on its ring's owner thread (a CallerThread ring's creator, or a continuation on the loop thread).");
        if (IsDisposed)
            throw new RingDisposedException("Cannot create a batch: the ring was disposed.");
        var id = Array.IndexOf(_batches, null);
        if (id < 0)
        {
            id = _batches.Length;
            Array.Resize(ref _batches, _batches.Length * 2);
        }
        var batch = new RingBatch(this, id, capacity);
        _batches[id] = batch;
        _batchCount++;
        return batch;
    }

    internal ulong BatchUserData(int batch, int index) => BatchTag | ((ulong)(uint)batch << 32) | (uint)index;

    /// <summary>An SQE for a batch operation (owner thread): makes room by submitting when the SQ is full.</summary>
    internal io_uring_sqe* GetSqeForBatch(io_uring_op opcode)
    {
        CheckCanStart(opcode);
        VectorState.ZeroUpper();
        var sqe = Liburing.io_uring_get_sqe(_ring);
        if (sqe == null)
        {
            SubmitPending();
            sqe = Liburing.io_uring_get_sqe(_ring);
            if (sqe == null)
                throw new InvalidOperationException("The submission queue is full and the kernel takes no more entries now; complete some operations first.");
        }
        return sqe;
    }

    internal void BatchOperationPrepared() => _inKernel++;

    /// <summary>io_uring_submit now (owner thread); returns the number of SQEs submitted.</summary>
    internal int SubmitNow()
    {
        _enterCalls++;
        var r = Liburing.io_uring_submit(_ring);
        if (r == -Errno.EBUSY || r == -Errno.EAGAIN)
        {
            Reap();
            return 0;
        }
        if (r < 0 && r != -Errno.EINTR)
            throw new UringIOException(-r, "io_uring_submit");
        return Math.Max(r, 0);
    }

    /// <summary>
    /// <see cref="RingBatch.Complete"/>'s wait: submits, waits for <paramref name="wanted"/> CQEs
    /// (any), and takes <paramref name="batch"/>'s completions straight from the CQ into
    /// <paramref name="into"/> — no pending list, no dispatch — while the span has room. The other
    /// CQEs it passes go to the pending list, and the usual reap dispatches them and whatever is
    /// left (owner thread). Returns how many completions it wrote.
    /// </summary>
    internal int SubmitAndTake(RingBatch batch, Span<BatchCompletion> into, int wanted)
    {
        if (_shutdownDone)
            throw new RingDisposedException("The ring was disposed.");
        if (_pendingCount > 0)
        {
            // Called from a continuation that a reap further up this stack is running: the CQEs it
            // copied out and has not dispatched yet are older than anything in the CQ, and may be
            // the very ones wanted (waiting for the kernel first would wait for them forever).
            // Dispatch them now, into the batch; the caller takes them from there.
            Reap();
            return 0;
        }
        VectorState.ZeroUpper();
        _enterCalls++;
        CheckEnter(Liburing.io_uring_submit_and_wait(_ring, (uint)Math.Max(1, wanted)), "io_uring_submit_and_wait");
        var taken = TakeFromCq(batch, into);
        Reap();
        return taken;
    }

    private int TakeFromCq(RingBatch batch, Span<BatchCompletion> into)
    {
        var cq = &_ring->cq;
        var head = *cq->khead;
        var ready = Volatile.Read(ref *cq->ktail) - head;
        var mask = cq->ring_mask;
        var cqes = cq->cqes;
        var mine = BatchUserData(batch.Id, 0);
        var taken = 0;
        uint i = 0;
        for (; i < ready && taken < into.Length; i++)
        {
            var cqe = cqes + ((head + i) & mask);
            var userData = cqe->user_data;
            if ((userData & 0xFFFF_FFFF_0000_0000UL) == mine)
            {
                _inKernel--;
                into[taken++] = batch.Take((int)(uint)userData, cqe->res, cqe->flags);
                continue;
            }
            EnsurePendingCapacity(1);
            AppendPending(cqe);
        }
        Volatile.Write(ref *cq->khead, head + i);
        return taken;
    }

    private void DispatchBatch(ulong userData, int res, uint flags)
    {
        _inKernel--;
        var id = (int)((userData >> 32) & 0x3FFF_FFFF);
        if ((uint)id >= (uint)_batches.Length || _batches[id] is not { } batch)
            return;
        batch.OnCompletion((int)(uint)userData, res, flags);
        if (batch.IsForgotten && batch.IsIdle)
            Forget(batch);
    }

    internal void ForgetBatchWhenIdle(RingBatch batch)
    {
        if (batch.IsIdle)
            Forget(batch);
    }

    private void Forget(RingBatch batch)
    {
        if (ReferenceEquals(_batches[batch.Id], batch))
        {
            _batches[batch.Id] = null;
            _batchCount--;
        }
    }

    /// <summary>Shutdown gave up on the kernel: batch buffers and handles stay allocated forever.</summary>
    private void AbandonBatches()
    {
        foreach (var batch in _batches)
            batch?.Abandon();
    }
}
