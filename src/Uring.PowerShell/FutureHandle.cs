using System.Collections.Concurrent;
using System.Management.Automation;
using Uring.Bindings;

namespace Uring.PowerShell;

/// <summary>
/// A <see cref="CancelableFuture{T}"/> of any <c>T</c>, as PowerShell hands it over (boxed,
/// usually inside a <see cref="PSObject"/>), behind one non-generic interface, so that the
/// cmdlets can wait for, inspect and cancel futures without knowing their result type.
/// </summary>
internal abstract class FutureHandle
{
    private static readonly ConcurrentDictionary<Type, Func<object, FutureHandle>?> s_factories = new();

    /// <summary>The operation's opcode, or null once the result was consumed.</summary>
    public abstract io_uring_op? Opcode { get; }

    /// <summary>The state, without consuming or waiting.</summary>
    public abstract FutureState State { get; }

    /// <summary>The boxed future, for error records and output.</summary>
    public abstract object Boxed { get; }

    /// <summary>Waits up to <paramref name="timeout"/>; true when the operation completed.</summary>
    /// <exception cref="InvalidOperationException">The result was already consumed.</exception>
    public abstract bool Wait(TimeSpan timeout);

    /// <summary>Consumes the result of a completed operation; throws what the operation ended with.</summary>
    public abstract object? GetResult();

    /// <summary>Asks the kernel to cancel the operation.</summary>
    public abstract CancelableFuture<CancelOutcome> Cancel();

    /// <summary>Wraps <paramref name="value"/> when it is a <see cref="CancelableFuture{T}"/>; otherwise null.</summary>
    public static FutureHandle? From(object? value)
    {
        if (value is PSObject ps)
            value = ps.BaseObject;
        if (value is null)
            return null;
        var factory = s_factories.GetOrAdd(value.GetType(), static type =>
        {
            var resultType = ResultTypeOf(type);
            if (resultType is null)
                return null;
            var handleType = typeof(FutureHandle<>).MakeGenericType(resultType);
            return boxed => (FutureHandle)Activator.CreateInstance(handleType, boxed)!;
        });
        return factory?.Invoke(value);
    }

    /// <summary>The <c>T</c> of a <see cref="CancelableFuture{T}"/> type, or null for any other type.</summary>
    public static Type? ResultTypeOf(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(CancelableFuture<>) ? type.GetGenericArguments()[0] : null;
}

/// <summary>The <see cref="FutureHandle"/> of a <see cref="CancelableFuture{T}"/>.</summary>
internal sealed class FutureHandle<T> : FutureHandle
{
    private readonly CancelableFuture<T> _future;
    private readonly object _boxed;

    public FutureHandle(object boxed)
    {
        _future = (CancelableFuture<T>)boxed;
        _boxed = boxed;
    }

    public override object Boxed => _boxed;

    public override io_uring_op? Opcode => State == FutureState.Consumed ? null : _future.Opcode;

    public override FutureState State
    {
        get
        {
            // The ValueTask view asks the operation for its status; unlike Result it neither
            // consumes nor waits. A consumed (or default) future throws instead.
            try
            {
                var task = _future.AsValueTask();
                if (!task.IsCompleted)
                    return FutureState.Pending;
                if (task.IsCompletedSuccessfully)
                    return FutureState.Succeeded;
                return task.IsCanceled ? FutureState.Canceled : FutureState.Faulted;
            }
            catch (InvalidOperationException)
            {
                return FutureState.Consumed;
            }
        }
    }

    public override bool Wait(TimeSpan timeout) => _future.Wait(timeout);

    public override object? GetResult() => _future.GetAwaiter().GetResult();

    public override CancelableFuture<CancelOutcome> Cancel() => _future.Cancel();
}
