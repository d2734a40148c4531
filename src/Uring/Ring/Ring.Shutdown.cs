using System.Diagnostics;
using Uring.Bindings;

namespace Uring;

// Shutdown: refuse new work, fail what never reached the kernel, cancel what is in it, wait
// (bounded) for every CQE, and only then free memory and unmap the ring.
public sealed unsafe partial class Ring
{
    private const ulong CancelAllUserData = InternalTag | 2;

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
                ShutDownNow();
            return;
        }
        if (_options.Threading == RingThreading.CallerThread)
            throw new InvalidOperationException("A CallerThread ring must be disposed on the thread that owns it.");

        _crossThread.EnterProducer(); // keeps the eventfd open while we signal it
        try
        {
            if (Interlocked.CompareExchange(ref _lifecycle, Disposing, Running) != Running)
            {
                _thread!.Join();
                return;
            }
            _crossThread.Signal();
        }
        finally
        {
            _crossThread.ExitProducer();
        }
        _thread!.Join();
    }

    private void ShutDownNow()
    {
        if (_shutdownDone)
            return;
        var stopwatch = Stopwatch.StartNew();

        // 1. Nothing new gets in; what never reached the kernel fails right away.
        _crossThread.WaitForProducers();
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
            for (var i = 0; i < _slots.HighWater; i++)
            {
                if (_slots.At(i) is not { } op)
                    continue;
                _slots.Release(i);
                op.Abandon();
                op.FailLocally(new RingDisposedException(
                    $"{op.Opcode} did not complete within the ring's shutdown timeout ({_options.ShutdownTimeout}); its buffers are quarantined and never freed.", op.Opcode));
            }
            AbandonBatches();
            _inKernel = 0;
        }

        Volatile.Write(ref _lifecycle, Disposed);
        _crossThread.WaitForProducers();
        FailQueued();
        _shutdownDone = true;

        _crossThread.Close();
        Liburing.io_uring_queue_exit(_ring);
        NativeMemoryStatistics.Free(_ring, RingAllocationSize);
        _ring = null;
        if (leaked)
        {
            _slots.LeakScratch();
        }
        else
        {
            NativeMemoryStatistics.Free(_wakeBuffer, 8);
            _slots.FreeScratch();
        }
        _wakeBuffer = null;
    }

    private void FailQueued()
    {
        while (_backlog.Count > 0)
            FailChain(_backlog.Dequeue(), null);
        while (_crossThread.TryDequeue(out var op))
            FailChain(op, null);
    }
}
