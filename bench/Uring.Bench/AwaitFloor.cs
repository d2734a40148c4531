using System.Runtime.CompilerServices;
using Uring.Bindings;

namespace Uring.Bench;

/// <summary>
/// A reference point, not a product: the least an <c>await</c> per NOP can cost in .NET. It is
/// the raw-bindings NOP loop with each operation awaited by its own async loop through the
/// smallest awaiter that works (one pooled object per operation, the continuation stored and
/// called inline when the CQE is reaped), on one thread, with no cancellation, ownership,
/// cross-thread submission, error mapping or context handling. The façade can approach this
/// figure but not beat it; the gap between it and C is the price of the async state machine.
/// </summary>
internal sealed class AwaitFloor : INopCase
{
    private sealed class Pending : ICriticalNotifyCompletion
    {
        public Action? Continuation;
        public int Result;
        public bool Done;

        public Pending GetAwaiter() => this;
        public bool IsCompleted => Done;

        public int GetResult()
        {
            var result = Result;
            Done = false;
            Continuation = null;
            s_free.Push(this);
            return result;
        }

        public void OnCompleted(Action continuation) => Continuation = continuation;
        public void UnsafeOnCompleted(Action continuation) => Continuation = continuation;
    }

    private static readonly Stack<Pending> s_free = new();
    private static readonly Pending?[] s_slots = new Pending?[256];
    private static readonly Stack<int> s_freeSlots = new(Enumerable.Range(0, 256));
    private static unsafe io_uring* s_ring;
    private static long s_remaining;
    private readonly int _inFlight;

    public unsafe AwaitFloor(int inFlight)
    {
        _inFlight = inFlight;
        s_ring = RawRing.Create();
    }

    public unsafe void Dispose()
    {
        RawRing.Destroy(s_ring);
        s_ring = null;
    }

    /// <summary>Runs <paramref name="total"/> NOPs through <c>inFlight</c> async loops on this
    /// thread. (The loops' state machines are allocated once per loop, not per operation.)</summary>
    public long Run(long total)
    {
        var inFlight = _inFlight;
        var perLoop = total / inFlight;
        s_remaining = perLoop * inFlight;
        var loops = new Task[inFlight];
        for (var i = 0; i < inFlight; i++)
            loops[i] = Loop(perLoop);
        Drive();
        foreach (var loop in loops)
            loop.GetAwaiter().GetResult();
        return perLoop * inFlight;
    }

    private static async Task Loop(long count)
    {
        for (long i = 0; i < count; i++)
        {
            if (await Nop() != 0)
                throw new InvalidOperationException("NOP failed");
            s_remaining--;
        }
    }

    private static unsafe Pending Nop()
    {
        var pending = s_free.Count > 0 ? s_free.Pop() : new Pending();
        var slot = s_freeSlots.Pop();
        s_slots[slot] = pending;
        var sqe = Liburing.io_uring_get_sqe(s_ring);
        Liburing.io_uring_prep_nop(sqe);
        sqe->user_data = (ulong)slot;
        return pending;
    }

    private static unsafe void Drive()
    {
        const int Batch = 64;
        var cqes = stackalloc io_uring_cqe*[Batch];
        var slots = stackalloc int[Batch];
        var results = stackalloc int[Batch];
        while (s_remaining > 0)
        {
            var r = Liburing.io_uring_submit_and_wait(s_ring, 1);
            if (r < 0)
                throw new InvalidOperationException($"submit_and_wait: {r}");
            uint n;
            while ((n = Liburing.io_uring_peek_batch_cqe(s_ring, cqes, Batch)) > 0)
            {
                for (var i = 0; i < n; i++)
                {
                    slots[i] = (int)cqes[i]->user_data;
                    results[i] = cqes[i]->res;
                }
                Liburing.io_uring_cq_advance(s_ring, n);
                for (var i = 0; i < n; i++)
                {
                    var pending = s_slots[slots[i]]!;
                    s_slots[slots[i]] = null;
                    s_freeSlots.Push(slots[i]);
                    pending.Result = results[i];
                    pending.Done = true;
                    pending.Continuation!();
                }
            }
        }
    }
}
