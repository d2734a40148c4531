using Uring.Bindings;

namespace Uring;

// Completion dispatch (owner thread): CQEs are copied out of the CQ in batches, the CQ is
// advanced, and only then does each completion reach its operation — whose continuation may
// start more operations, or wait synchronously on another one.
public sealed unsafe partial class Ring
{
    private const int ReapBatch = 64;
    private const ulong WakeUserData = InternalTag | 1;

    // CQEs copied out of the CQ and not dispatched yet (a power-of-two ring buffer).
    private ulong[] _pendingUserData = new ulong[256];
    private int[] _pendingResults = new int[256];
    private uint[] _pendingFlags = new uint[256];
    private int _pendingHead, _pendingCount;

    /// <summary>
    /// Copies ready CQEs into the pending list, frees their CQ slots, then dispatches the list.
    /// Continuations run inside Dispatch and may re-enter (a synchronous Wait on the owner
    /// thread): the nested call dispatches from the same list, so a completion already copied
    /// out of the CQ is never stranded behind the continuation that waits for it.
    /// </summary>
    private int Reap()
    {
        var total = 0;
        while (!_shutdownDone)
        {
            var n = CopyCompletions();
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

    /// <summary>
    /// Copies up to <see cref="ReapBatch"/> ready CQEs into the pending list and frees their CQ
    /// slots (before any continuation runs, which may submit more). Returns how many.
    /// </summary>
    /// <remarks>
    /// The CQ is read in place, as liburing's inline helpers do (the tail loaded with acquire,
    /// the head stored with release; this thread is the CQ's only consumer), so reaping crosses
    /// into native code not at all: io_uring_peek_batch_cqe may enter the kernel and is therefore
    /// called with a GC transition. What it would enter for — moving completions that overflowed
    /// the CQ back into it — the kernel entry before every reap already does (liburing's submit
    /// calls enter with GETEVENTS when the kernel flags an overflow). The façade creates no ring
    /// with 32-byte CQEs (IORING_SETUP_CQE32, CQE_MIXED), so every CQE is 16 bytes.
    /// </remarks>
    private int CopyCompletions()
    {
        var cq = &_ring->cq;
        var head = *cq->khead;
        var ready = Volatile.Read(ref *cq->ktail) - head;
        if (ready == 0)
            return 0;
        var n = (int)Math.Min(ready, (uint)ReapBatch);
        EnsurePendingCapacity(n);
        var mask = cq->ring_mask;
        var cqes = cq->cqes;
        for (var i = 0; i < n; i++)
            AppendPending(cqes + ((head + (uint)i) & mask));
        Volatile.Write(ref *cq->khead, head + (uint)n);
        return n;
    }

    /// <summary>Copies <paramref name="cqe"/> to the end of the pending list (room made beforehand: <see cref="EnsurePendingCapacity"/>).</summary>
    private void AppendPending(io_uring_cqe* cqe)
    {
        var at = (_pendingHead + _pendingCount) & (_pendingUserData.Length - 1);
        _pendingUserData[at] = cqe->user_data;
        _pendingResults[at] = cqe->res;
        _pendingFlags[at] = cqe->flags;
        _pendingCount++;
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
        if ((userData & (InternalTag | BatchTag)) != 0)
        {
            if ((userData & InternalTag) == 0)
            {
                DispatchBatch(userData, res, flags);
                return;
            }
            _internalInKernel--;
            if (userData == WakeUserData)
            {
                _wakeArmed = false;
                _crossThread.WakeConsumed();
            }
            return;
        }
        if (_slots.Find(userData) is not { } op)
            return;
        // IORING_CQE_F_MORE: more CQEs follow for this user_data (multishot, zero-copy send), so the
        // operation keeps its slot; F_NOTIF ends a zero-copy send. The kind decides.
        if ((flags & (Constants.IORING_CQE_F_MORE | Constants.IORING_CQE_F_NOTIF)) != 0 && op.OnAdditionalCompletion(ref res, flags))
            return;
        _slots.Release(op.Slot);
        _inKernel--;
        op.Complete(res, flags);
    }
}
