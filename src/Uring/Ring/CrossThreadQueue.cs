using System.Collections.Concurrent;

namespace Uring;

/// <summary>
/// Operations started on threads other than the ring's owner: a lock-free queue the owner
/// drains on each loop turn, and an eventfd that wakes a sleeping loop (the ring keeps an
/// IORING_OP_READ pending on it). One wake-up serves every operation queued before the loop
/// runs: only the producer that finds the loop unsignalled writes to the eventfd.
/// </summary>
internal sealed unsafe class CrossThreadQueue
{
    private readonly ConcurrentQueue<Operation> _items = new();
    private int _producers; // threads between EnterProducer and ExitProducer: the eventfd must stay open for them
    private int _signaled;

    /// <summary>The eventfd the loop's wake-up read waits on.</summary>
    internal int EventFd = -1;

    internal bool IsEmpty => _items.IsEmpty;

    internal void EnterProducer() => Interlocked.Increment(ref _producers);

    internal void ExitProducer() => Interlocked.Decrement(ref _producers);

    /// <summary>Queues a chain head and wakes the loop unless it was already signalled (between Enter/ExitProducer).</summary>
    internal void Enqueue(Operation head)
    {
        _items.Enqueue(head);
        if (Interlocked.CompareExchange(ref _signaled, 1, 0) == 0)
            Signal();
    }

    /// <summary>Wakes the loop (between Enter/ExitProducer, or on the owner thread).</summary>
    internal void Signal()
    {
        ulong one = 1;
        LibC.write(EventFd, &one, 8);
    }

    internal bool TryDequeue(out Operation op) => _items.TryDequeue(out op!);

    /// <summary>The wake-up read completed: the next producer signals again.</summary>
    internal void WakeConsumed() => Volatile.Write(ref _signaled, 0);

    /// <summary>Waits until no thread is between EnterProducer and ExitProducer.</summary>
    internal void WaitForProducers()
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref _producers) != 0)
            spin.SpinOnce();
    }

    internal void Close()
    {
        if (EventFd >= 0)
            LibC.close(EventFd);
        EventFd = -1;
    }
}
