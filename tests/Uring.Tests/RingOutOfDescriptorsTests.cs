namespace Uring.Tests;

/// <summary>
/// Creating a ring when the process cannot open one more descriptor. The test lowers the soft
/// RLIMIT_NOFILE to just above the highest open descriptor and fills every free number below it,
/// for the length of one constructor call, so it runs alone (the serial collection).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class RingOutOfDescriptorsTests
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
        using (new NoDescriptorsLeft())
            return action();
    }
}
