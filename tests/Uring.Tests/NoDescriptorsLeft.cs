using System.Runtime.InteropServices;

namespace Uring.Tests;

/// <summary>
/// Puts the process out of file descriptors: lowers the soft RLIMIT_NOFILE to just above the
/// highest open descriptor (plus <c>spare</c> numbers, so that fillers can be freed one by one)
/// and fills every free number below it with eventfds. Dispose closes them and restores the limit;
/// a constructor that fails halfway does the same before it throws. Tests using it run alone (a
/// collection without parallelisation). Also compiled into tests/AspNetCore.Tests.
/// </summary>
/// <remarks>
/// <para><b>Keep the stretch short.</b> While it lasts the runtime cannot start a thread (it opens
/// a pipe for each), and when its thread pool has to — work queued while every worker is busy,
/// checked every 500 ms — the process aborts with "Out of memory.", taking the test host with it.
/// So filling first makes sure that the pool has idle workers, and every wait while out of
/// descriptors is bounded by <see cref="TimeLeft"/>, one budget for the whole stretch (a few seconds
/// at most: idle workers retire after 20 s). A test that is still waiting when the budget is spent
/// has failed; it leaves the block, and asserts once descriptors are back. The budget is not
/// enforced here — nothing could, without a thread — but by the waits that use it.</para>
/// <para><b>Requests armed earlier.</b> The kernel reads RLIMIT_NOFILE for an io_uring accept when
/// the request is prepared, so an accept armed before the limit was lowered goes on accepting above
/// it. For a server that is already listening, lower the limit before it starts
/// (<see cref="LowerLimit"/>) and fill the table later (<see cref="Exhaust"/>).</para>
/// </remarks>
internal sealed unsafe partial class NoDescriptorsLeft : IDisposable
{
    /// <summary>How long a test may stay out of descriptors unless it says otherwise.</summary>
    public static readonly TimeSpan DefaultBudget = TimeSpan.FromSeconds(2);

    private const int RLIMIT_NOFILE = 7, EMFILE = 24, O_CLOEXEC = 0x80000;
    private const int IdleWorkers = 8;

    private readonly ulong _savedCurrent, _savedMaximum;
    private readonly List<int> _filler = new();
    private long _deadline;
    private bool _lowered;

    /// <param name="spare">Numbers above the highest open descriptor that are filled too (0: the limit is the highest plus one).</param>
    /// <param name="exhaust">False: only note the limits (Dispose restores them unchanged); for warming up.</param>
    /// <param name="budget">How long the test may stay out of descriptors (<see cref="DefaultBudget"/> when null).</param>
    public NoDescriptorsLeft(int spare = 0, bool exhaust = true, TimeSpan? budget = null)
    {
        var limits = stackalloc ulong[2];
        if (getrlimit(RLIMIT_NOFILE, limits) != 0)
            throw new InvalidOperationException($"getrlimit(RLIMIT_NOFILE) failed: errno {Marshal.GetLastPInvokeError()}");
        (_savedCurrent, _savedMaximum) = (limits[0], limits[1]);
        _deadline = Environment.TickCount64 + (long)(budget ?? DefaultBudget).TotalMilliseconds;
        if (!exhaust)
            return;
        try
        {
            EnsureIdleWorkers(IdleWorkers); // before the limit: starting a thread opens a pipe for a moment
            Lower(spare);
            Fill(budget);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// Lowers the limit to <paramref name="headroom"/> numbers above the highest open descriptor,
    /// and fills nothing yet: what opens descriptors or arms accepts now does so under the new limit.
    /// <see cref="Exhaust"/> fills the table later.
    /// </summary>
    public static NoDescriptorsLeft LowerLimit(int headroom)
    {
        var descriptors = new NoDescriptorsLeft(exhaust: false);
        try
        {
            descriptors.Lower(headroom);
        }
        catch
        {
            descriptors.Dispose();
            throw;
        }
        return descriptors;
    }

    /// <summary>
    /// Fills every free number below the limit (made sure that the thread pool has idle workers
    /// first) and starts the stretch's budget. <see cref="Free"/> ends it; so does Dispose.
    /// </summary>
    public void Exhaust(TimeSpan? budget = null)
    {
        if (!_lowered)
            throw new InvalidOperationException("the limit was not lowered");
        EnsureIdleWorkers(IdleWorkers);
        Fill(budget);
    }

    private void Fill(TimeSpan? budget)
    {
        try
        {
            while (_filler.Count < 100_000)
            {
                var fd = eventfd(0, O_CLOEXEC);
                if (fd < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno != EMFILE)
                        throw new InvalidOperationException($"filling the descriptor table: eventfd failed with errno {errno}, not EMFILE");
                    break; // every number below the limit is taken
                }
                _filler.Add(fd);
            }
        }
        catch
        {
            Free(_filler.Count);
            throw;
        }
        _deadline = Environment.TickCount64 + (long)(budget ?? DefaultBudget).TotalMilliseconds;
    }

    private void Lower(int above)
    {
        var highest = Directory.GetFiles("/proc/self/fd").Select(p => int.Parse(Path.GetFileName(p))).Max();
        var limits = stackalloc ulong[2] { (ulong)(highest + 1 + above), _savedMaximum };
        if (setrlimit(RLIMIT_NOFILE, limits) != 0)
            throw new InvalidOperationException($"setrlimit(RLIMIT_NOFILE, {limits[0]}) failed: errno {Marshal.GetLastPInvokeError()}");
        _lowered = true;
    }

    /// <summary>What is left of the budget (zero once it is spent): the longest a wait may take now.</summary>
    public TimeSpan TimeLeft => TimeSpan.FromMilliseconds(Math.Max(0, _deadline - Environment.TickCount64));

    /// <summary>Closes <paramref name="count"/> of the filling descriptors (the limit stays).</summary>
    public void Free(int count)
    {
        for (var i = 0; i < count && _filler.Count > 0; i++)
        {
            close(_filler[^1]);
            _filler.RemoveAt(_filler.Count - 1);
        }
    }

    /// <summary>Closes every filler and restores the limit. Idempotent.</summary>
    public void Dispose()
    {
        Free(_filler.Count);
        if (!_lowered)
            return;
        var limits = stackalloc ulong[2] { _savedCurrent, _savedMaximum };
        if (setrlimit(RLIMIT_NOFILE, limits) != 0)
            throw new InvalidOperationException($"restoring RLIMIT_NOFILE to {_savedCurrent} failed: errno {Marshal.GetLastPInvokeError()}");
        _lowered = false;
    }

    /// <summary>
    /// Has the thread pool start <paramref name="count"/> workers (kept while idle for 20 s), so
    /// that work queued while out of descriptors finds one instead of needing a new thread.
    /// </summary>
    private static void EnsureIdleWorkers(int count)
    {
        ThreadPool.GetMinThreads(out var minWorkers, out var minIo);
        // Below the minimum the pool starts a thread per queued item at once, instead of one per
        // 500 ms; the threads that are busy now (the test's own among them) count too.
        ThreadPool.SetMinThreads(Math.Max(minWorkers, ThreadPool.ThreadCount + count), minIo);
        try
        {
            // Not disposed: a worker may still be inside Wait when the last one is released.
            var started = new CountdownEvent(count);
            var release = new ManualResetEventSlim();
            for (var i = 0; i < count; i++)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static state =>
                {
                    var (started, release) = ((CountdownEvent, ManualResetEventSlim))state!;
                    started.Signal();
                    release.Wait(TimeSpan.FromSeconds(10));
                }, (started, release));
            }
            var allStarted = started.Wait(TimeSpan.FromSeconds(10));
            release.Set();
            if (!allStarted)
                throw new InvalidOperationException($"the thread pool did not start {count} workers within 10 s");
        }
        finally
        {
            ThreadPool.SetMinThreads(minWorkers, minIo);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, ulong* limits);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, ulong* limits);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
