using System.Runtime.InteropServices;

namespace Uring.Tests;

/// <summary>
/// Puts the process out of file descriptors: lowers the soft RLIMIT_NOFILE to just above the
/// highest open descriptor (plus <c>spare</c> numbers, so that fillers can be freed one by one)
/// and fills every free number below it with eventfds. Dispose closes them and restores the limit.
/// Tests using it belong to the serial collection.
/// </summary>
internal sealed unsafe class NoDescriptorsLeft : IDisposable
{
    private readonly ulong _savedCurrent, _savedMaximum;
    private readonly List<int> _filler = new();

    /// <param name="spare">Numbers above the highest open descriptor that are filled too (0: the limit is the highest plus one).</param>
    /// <param name="exhaust">False: only note the limits (Dispose restores them unchanged).</param>
    public NoDescriptorsLeft(int spare = 0, bool exhaust = true)
    {
        var limits = stackalloc ulong[2];
        Assert.Equal(0, Native.getrlimit(Native.RLIMIT_NOFILE, limits));
        (_savedCurrent, _savedMaximum) = (limits[0], limits[1]);
        var highest = Directory.GetFiles("/proc/self/fd").Select(p => int.Parse(Path.GetFileName(p))).Max();
        if (!exhaust)
            return;
        limits[0] = (ulong)(highest + 1 + spare);
        Assert.Equal(0, Native.setrlimit(Native.RLIMIT_NOFILE, limits));
        while (_filler.Count < 100_000)
        {
            var fd = Native.eventfd(0, Native.O_CLOEXEC);
            if (fd < 0)
            {
                Assert.Equal(24, Marshal.GetLastPInvokeError()); // EMFILE: every number below the limit is taken
                break;
            }
            _filler.Add(fd);
        }
    }

    /// <summary>Closes <paramref name="count"/> of the filling descriptors.</summary>
    public void Free(int count)
    {
        for (var i = 0; i < count && _filler.Count > 0; i++)
        {
            Native.close(_filler[^1]);
            _filler.RemoveAt(_filler.Count - 1);
        }
    }

    public void Dispose()
    {
        Free(_filler.Count);
        var limits = stackalloc ulong[2] { _savedCurrent, _savedMaximum };
        Assert.Equal(0, Native.setrlimit(Native.RLIMIT_NOFILE, limits));
    }
}
