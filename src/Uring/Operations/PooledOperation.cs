namespace Uring;

/// <summary>
/// The pool of one operation kind. Objects consumed on a ring's owner thread go to that ring's
/// per-kind cache (no lock, no thread-local lookup); the rest go to a shared, bounded pool.
/// </summary>
internal abstract class PooledOperation<TSelf, T> : Operation<T>
    where TSelf : PooledOperation<TSelf, T>, new()
{
    private const int MaxPooled = 4096;
    private static readonly Stack<TSelf> s_pool = new();

    /// <summary>This kind's slot in a ring's per-kind operation caches.</summary>
    internal static readonly int CacheIndex = NextCacheIndex();

    /// <summary>A cleared object of this kind bound to <paramref name="ring"/>, after the ring's
    /// checks (not disposed; the running kernel has <paramref name="opcode"/>).</summary>
    internal static TSelf Rent(Ring ring, Bindings.io_uring_op opcode)
    {
        ring.CheckCanStart(opcode);
        return RentUnchecked(ring, opcode);
    }

    /// <summary><see cref="Rent"/> without the ring's checks (for results the façade produces itself).</summary>
    internal static TSelf RentUnchecked(Ring ring, Bindings.io_uring_op opcode)
    {
        var op = ring.IsOnOwnerStack ? ring.TakeCachedOperation<TSelf>(CacheIndex) : null;
        if (op is null)
        {
            lock (s_pool)
                s_pool.TryPop(out op);
            op ??= new TSelf();
        }
        op.Bind(ring, opcode);
        return op;
    }

    protected sealed override void ReturnToPool(Ring? ring)
    {
        var self = System.Runtime.CompilerServices.Unsafe.As<TSelf>(this);
        if (ring is not null && ring.TryCacheOperation(self, CacheIndex))
            return;
        lock (s_pool)
        {
            if (s_pool.Count < MaxPooled)
                s_pool.Push(self);
        }
    }
}
