using System.Runtime.CompilerServices;

namespace Uring;

/// <summary>What <see cref="Ring.SwitchToOwnerThread"/> returns: <c>await</c> it to continue on the ring's owner thread.</summary>
public readonly struct OwnerThreadAwaitable
{
    private readonly Ring _ring;

    internal OwnerThreadAwaitable(Ring ring) => _ring = ring;

    /// <summary>The awaiter (used by <c>await</c>).</summary>
    public OwnerThreadAwaiter GetAwaiter() => new(_ring);
}

/// <summary>The awaiter of <see cref="Ring.SwitchToOwnerThread"/>.</summary>
public readonly struct OwnerThreadAwaiter : ICriticalNotifyCompletion
{
    private readonly Ring _ring;

    internal OwnerThreadAwaiter(Ring ring) => _ring = ring ?? throw new InvalidOperationException("This OwnerThreadAwaitable was not created by Ring.SwitchToOwnerThread().");

    /// <summary>True on the owner thread already: no switch is needed.</summary>
    public bool IsCompleted => _ring.IsOwnerThread;

    /// <summary>Queues the continuation to the owner thread, flowing the execution context.</summary>
    public void OnCompleted(Action continuation) => Post(continuation, ExecutionContext.Capture());

    /// <summary>Queues the continuation to the owner thread.</summary>
    public void UnsafeOnCompleted(Action continuation) => Post(continuation, null);

    /// <summary>Ends the <c>await</c>: on the owner thread, or throws.</summary>
    /// <exception cref="RingDisposedException">The ring was disposed before the continuation could run on its owner thread.</exception>
    public void GetResult()
    {
        if (!_ring.IsOwnerThread)
            throw new RingDisposedException("The ring was disposed before the code awaiting SwitchToOwnerThread() could move to its owner thread; it continues on a thread-pool thread.");
    }

    private void Post(Action continuation, ExecutionContext? context)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        _ring.PostToOwnerThread(new Continuation(continuation, context));
    }

    private sealed class Continuation(Action action, ExecutionContext? context) : IThreadPoolWorkItem
    {
        public void Execute()
        {
            if (context is null)
                action();
            else
                ExecutionContext.Run(context, static state => ((Action)state!)(), action);
        }
    }
}
