using System.Runtime.InteropServices;

namespace Uring.Tests;

/// <summary>
/// Creating a ring when the process cannot open one more descriptor. The test lowers the soft
/// RLIMIT_NOFILE to just above the highest open descriptor and fills every free number below it,
/// for the length of one constructor call, so it runs alone (the serial collection).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed unsafe class RingOutOfDescriptorsTests
{
    [Theory]
    [InlineData(RingThreading.DedicatedThread)]
    [InlineData(RingThreading.CallerThread)]
    public void A_ring_created_with_no_descriptor_left_is_an_EMFILE_error_and_the_next_one_works(RingThreading threading)
    {
        // Twice: the first time may be the process's first ring (liburing-ffi.so.2 itself cannot be
        // opened then, and that failure must not be remembered); the second finds the library
        // loaded and fails at the loop thread's start or at io_uring_setup.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var error = WithNoDescriptorLeft(() =>
            {
                try
                {
                    new Ring(new RingOptions { Threading = threading }).Dispose();
                    return null;
                }
                catch (Exception e)
                {
                    return e;
                }
            });

            var io = Assert.IsType<UringIOException>(error);
            Assert.Equal("EMFILE", io.ErrnoName);
            Assert.Contains("out of file descriptors", io.Message);

            using var ring = new Ring(new RingOptions { Threading = threading });
            var nop = ring.Nop();
            Assert.True(nop.Wait(TimeSpan.FromSeconds(10)));
            Assert.Equal(0, nop.Result);
        }
    }

    private static Exception? WithNoDescriptorLeft(Func<Exception?> action)
    {
        var saved = stackalloc ulong[2];
        Assert.Equal(0, Native.getrlimit(Native.RLIMIT_NOFILE, saved));
        var highest = Directory.GetFiles("/proc/self/fd").Select(p => int.Parse(Path.GetFileName(p))).Max();
        var filler = new List<int>();
        var lowered = stackalloc ulong[2] { (ulong)highest + 1, saved[1] };
        Assert.Equal(0, Native.setrlimit(Native.RLIMIT_NOFILE, lowered));
        try
        {
            while (filler.Count < 100_000)
            {
                var fd = Native.eventfd(0, Native.O_CLOEXEC);
                if (fd < 0)
                {
                    Assert.Equal(24, Marshal.GetLastPInvokeError()); // EMFILE: every number below the limit is taken
                    break;
                }
                filler.Add(fd);
            }
            return action();
        }
        finally
        {
            foreach (var fd in filler)
                Native.close(fd);
            Assert.Equal(0, Native.setrlimit(Native.RLIMIT_NOFILE, saved));
        }
    }
}
