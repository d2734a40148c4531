using Uring.Bindings;

namespace Uring;

public sealed unsafe partial class Ring
{
    private int _registeredEventFd = -1;

    /// <summary>
    /// Asks the kernel to signal <paramref name="eventFd"/> (an eventfd(2) the caller owns) each
    /// time it posts a completion on this ring (IORING_REGISTER_EVENTFD), so an event loop that
    /// does not own the ring (asyncio, epoll) can watch one fd and drive the ring only when
    /// there is something to reap. One eventfd per ring; the caller keeps and closes it, after
    /// <see cref="UnregisterEventFd"/> or the ring's disposal.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="eventFd"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">An eventfd is already registered.</exception>
    /// <exception cref="UringIOException">The kernel refused it (EBADF for an fd that is not open).</exception>
    public void RegisterEventFd(int eventFd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(eventFd);
        if (Volatile.Read(ref _registeredEventFd) >= 0)
            throw new InvalidOperationException($"eventfd {_registeredEventFd} is already registered with this ring.");
        var r = (int)InvokeOnOwnerThread(() => Liburing.io_uring_register_eventfd(NativeRing, eventFd));
        if (r < 0)
            throw new UringIOException(-r, "io_uring_register(IORING_REGISTER_EVENTFD)");
        Volatile.Write(ref _registeredEventFd, eventFd);
    }

    /// <summary>Stops signalling the eventfd given to <see cref="RegisterEventFd"/>; nothing happens if none is registered.</summary>
    public void UnregisterEventFd()
    {
        if (Volatile.Read(ref _registeredEventFd) < 0 || IsShutDown)
            return;
        var r = (int)InvokeOnOwnerThread(() => Liburing.io_uring_unregister_eventfd(NativeRing));
        if (r < 0)
            throw new UringIOException(-r, "io_uring_register(IORING_UNREGISTER_EVENTFD)");
        Volatile.Write(ref _registeredEventFd, -1);
    }
}
