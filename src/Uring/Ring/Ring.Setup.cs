using System.Runtime.InteropServices;
using Uring.Bindings;

namespace Uring;

// Setup: the native ring with the flags the options ask for (falling back where an older
// kernel refuses them), the probe, and the eventfd that wakes the loop.
public sealed unsafe partial class Ring
{
    // struct io_uring rounded up to whole cache lines: liburing reads it on every SQE, and a
    // neighbouring malloc chunk written by another thread would otherwise share its last line.
    private static readonly nuint RingAllocationSize = (nuint)((sizeof(io_uring) + 63) / 64 * 64 + 64);

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
            if (_options.CompletionQueueEntries is not null)
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
                throw SetupFailed(-r, flags);

            KernelProbe.EnsureProbed(_ring);

            _crossThread.EventFd = LibC.eventfd(0, LibC.EFD_CLOEXEC);
            if (_crossThread.EventFd < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                Liburing.io_uring_queue_exit(_ring);
                throw new UringIOException(errno, "eventfd (the ring's wake-up)");
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

    /// <summary>The error for a refused io_uring_setup, with what a user can act on.</summary>
    private UringIOException SetupFailed(int errno, uint flags)
    {
        var call = $"io_uring_queue_init_params(entries={_options.Entries}, flags=0x{flags:x})";
        if (errno == Errno.ENOMEM)
            call += LibC.MemlockNote(errno);
        else if (errno == Errno.EMFILE)
            call += " — the process is out of file descriptors (ulimit -n)";
        else if (errno == Errno.EPERM)
            call += " — io_uring is disabled for this process (sysctl kernel.io_uring_disabled, or a seccomp filter)";
        return new UringIOException(errno, call);
    }
}
