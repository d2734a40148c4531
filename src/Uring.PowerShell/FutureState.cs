namespace Uring.PowerShell;

/// <summary>Where a <see cref="CancelableFuture{T}"/> stands, read without consuming or waiting.</summary>
public enum FutureState
{
    /// <summary>The kernel has not answered yet.</summary>
    Pending,

    /// <summary>Completed with a result, not read yet.</summary>
    Succeeded,

    /// <summary>Completed with an error (errno, ring disposal, linked timeout), not read yet.</summary>
    Faulted,

    /// <summary>Completed cancelled, not read yet.</summary>
    Canceled,

    /// <summary>The result was already read (by <c>Wait-UringFuture</c>, an await or <c>GetResult</c>);
    /// the future no longer names an operation.</summary>
    Consumed,
}
