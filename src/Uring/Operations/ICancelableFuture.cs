using Uring.Bindings;

namespace Uring;

/// <summary>
/// A <see cref="CancelableFuture{T}"/> seen without its result type: what hosts that cannot
/// name generic types conveniently (PowerShell, Python.NET) or code holding futures of several
/// kinds use. Every <see cref="CancelableFuture{T}"/> implements it (through boxing).
/// </summary>
public interface ICancelableFuture
{
    /// <summary>The operation's opcode.</summary>
    io_uring_op Opcode { get; }

    /// <summary>Where the operation stands, without waiting, consuming or throwing.</summary>
    FutureStatus Status { get; }

    /// <summary>The result's type.</summary>
    Type ResultType { get; }

    /// <summary>Waits up to <paramref name="timeout"/>; true when the operation completed.</summary>
    bool Wait(TimeSpan timeout);

    /// <summary>Waits for and consumes the result (boxed); throws what the operation ended with.</summary>
    object? GetResult();

    /// <summary>Asks the kernel to cancel the operation (IORING_OP_ASYNC_CANCEL).</summary>
    CancelableFuture<CancelOutcome> Cancel();
}

/// <summary>Where an operation stands (<see cref="CancelableFuture{T}.Status"/>).</summary>
public enum FutureStatus
{
    /// <summary>The kernel has not answered yet.</summary>
    Pending,

    /// <summary>Completed with a result, not consumed yet.</summary>
    Succeeded,

    /// <summary>Completed with an error (UringIOException, TimeoutException, …), not consumed yet.</summary>
    Faulted,

    /// <summary>Completed cancelled (OperationCanceledException), not consumed yet.</summary>
    Canceled,

    /// <summary>The result was consumed (or the future was default-initialised): the future is spent.</summary>
    Consumed,
}
