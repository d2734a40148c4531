namespace Uring.Tests;

/// <summary>Ring.RegisterEventFd: the kernel signals an eventfd on each completion, which is how
/// an outside event loop (the Python package's asyncio integration) learns when to reap.</summary>
[Collection(SerialCollection.Name)]
public sealed unsafe class EventFdTests
{
    private static long ReadCounter(int eventFd)
    {
        long value = 0;
        var r = Native.read(eventFd, (byte*)&value, 8);
        return r == 8 ? value : -1; // -1: nothing signalled (EAGAIN on a non-blocking eventfd)
    }

    [Fact]
    public void CompletionsSignalTheRegisteredEventFd()
    {
        var eventFd = Native.eventfd(0, Native.O_CLOEXEC | Native.O_NONBLOCK);
        Assert.True(eventFd >= 0);
        try
        {
            using var ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread });
            ring.RegisterEventFd(eventFd);
            Assert.Equal(-1, ReadCounter(eventFd));          // nothing completed yet

            Assert.Equal(0, ring.Nop().Result);
            Assert.True(ReadCounter(eventFd) >= 1, "the NOP's completion did not signal the eventfd");

            ring.UnregisterEventFd();
            Assert.Equal(0, ring.Nop().Result);
            Assert.Equal(-1, ReadCounter(eventFd));          // unregistered: no more signals
        }
        finally
        {
            Native.close(eventFd);
        }
    }

    [Fact]
    public void MisuseIsATypedError()
    {
        using var ring = new Ring();
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.RegisterEventFd(-1));
        var error = Assert.Throws<UringIOException>(() => ring.RegisterEventFd(Native.ClosedFd()));
        Assert.Equal(9, error.Errno); // EBADF

        var eventFd = Native.eventfd(0, Native.O_CLOEXEC | Native.O_NONBLOCK);
        try
        {
            ring.RegisterEventFd(eventFd);                     // from another thread than the loop's
            Assert.Throws<InvalidOperationException>(() => ring.RegisterEventFd(eventFd));
        }
        finally
        {
            ring.Dispose();
            Native.close(eventFd);
        }
    }
}
