using System.Runtime.CompilerServices;

namespace Uring.Scripting;

/// <summary>
/// The link between one façade future and the caller's token: a continuation registered on
/// the future that, when the operation ends, turns its outcome into a <see cref="Completion"/>
/// in the ring's queue. Pooled per result type, each with its continuation delegate created
/// once, so tracking an operation allocates nothing in steady state.
/// </summary>
internal abstract class PendingOperation
{
    internal ulong Token;
    internal ScriptRing? Owner;

    /// <summary>Submits IORING_OP_ASYNC_CANCEL for the operation.</summary>
    internal abstract CancelableFuture<CancelOutcome> Cancel();
}

internal sealed class PendingOperation<T> : PendingOperation
{
    private const int MaxPooled = 4096;

    // The ring's owner thread rents and (normally) returns; a pool per thread needs no lock.
    [ThreadStatic] private static Stack<PendingOperation<T>>? t_pool;

    private readonly Action _continuation;
    private CancelableFuture<T> _future;
    private CancelableFuture<T>.Awaiter _awaiter;

    private PendingOperation() => _continuation = OnCompleted;

    /// <summary>Tracks <paramref name="future"/> under <paramref name="token"/>.</summary>
    internal static void Start(ScriptRing owner, ulong token, CancelableFuture<T> future)
    {
        if (future.IsCompleted)
        {
            // Ended before anything could wait (refused locally): deliver at once.
            var (result, status) = Outcome(owner, token, future.ConfigureAwait(false).GetAwaiter());
            owner.Deliver(token, result, status, null);
            return;
        }
        var pool = t_pool ??= new Stack<PendingOperation<T>>();
        if (!pool.TryPop(out var pending))
            pending = new PendingOperation<T>();
        pending.Token = token;
        pending.Owner = owner;
        pending._future = future;
        owner.Register(token, pending);
        pending._awaiter = future.ConfigureAwait(false).GetAwaiter();
        // Owner thread: the façade completes futures inline while the owner drives the ring,
        // so the continuation runs there, without flowing an ExecutionContext.
        pending._awaiter.UnsafeOnCompleted(pending._continuation);
    }

    internal override CancelableFuture<CancelOutcome> Cancel() => _future.Cancel();

    private void OnCompleted()
    {
        var owner = Owner!;
        var token = Token;
        var (result, status) = Outcome(owner, token, _awaiter);
        _awaiter = default;
        _future = default;
        Owner = null;
        owner.Deliver(token, result, status, this);
        var pool = t_pool ??= new Stack<PendingOperation<T>>();
        if (pool.Count < MaxPooled)
            pool.Push(this);
    }

    private static (int Result, ErrorKind Status) Outcome(ScriptRing owner, ulong token, CancelableFuture<T>.Awaiter awaiter)
    {
        try
        {
            var value = awaiter.GetResult();
            if (typeof(T) == typeof(ProvidedBuffer))
                owner.StoreLease(token, Unsafe.As<T, ProvidedBuffer>(ref value));
            else if (typeof(T) == typeof(StatxResult) || typeof(T) == typeof(PipeFds) || typeof(T) == typeof(AcceptedSocket) || typeof(T) == typeof(ReceivedMessage))
                owner.StoreDetail(token, value!);
            return (ToResult(value), ErrorKind.None);
        }
        catch (Exception e)
        {
            var (kind, errno) = LastError.Classify(e);
            owner.RememberMessage(token, e.Message);
            return (-errno, kind);
        }
    }

    /// <summary>The int a completion carries for a result of type <typeparamref name="T"/>.</summary>
    internal static int ToResult(T value)
    {
        if (typeof(T) == typeof(int))
            return Unsafe.As<T, int>(ref value);
        if (typeof(T) == typeof(bool))
            return Unsafe.As<T, bool>(ref value) ? 1 : 0;
        if (typeof(T) == typeof(CancelOutcome))
            return (int)Unsafe.As<T, CancelOutcome>(ref value);
        if (typeof(T) == typeof(BufferResult<OwnershipMemory>))
            return Unsafe.As<T, BufferResult<OwnershipMemory>>(ref value).BytesTransferred;
        if (typeof(T) == typeof(BufferResult<OwnershipMemory[]>))
            return Unsafe.As<T, BufferResult<OwnershipMemory[]>>(ref value).BytesTransferred;
        if (typeof(T) == typeof(PollEvents))
            return (int)Unsafe.As<T, PollEvents>(ref value);
        if (typeof(T) == typeof(AcceptedSocket))
            return Unsafe.As<T, AcceptedSocket>(ref value).Fd;
        if (typeof(T) == typeof(ProvidedBuffer))
            return Unsafe.As<T, ProvidedBuffer>(ref value).Length;
        if (typeof(T) == typeof(ReceivedMessage))
            return Unsafe.As<T, ReceivedMessage>(ref value).BytesTransferred;
        if (typeof(T) == typeof(PipeFds))
            return Unsafe.As<T, PipeFds>(ref value).ReadFd;
        if (typeof(T) == typeof(StatxResult))
            return 0; // the result itself waits in the ring: StatxTake
        throw new NotSupportedException($"No C ABI result mapping for {typeof(T)}.");
    }
}
