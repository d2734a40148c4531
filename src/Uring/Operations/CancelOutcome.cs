namespace Uring;

/// <summary>What the kernel answered to an <c>IORING_OP_ASYNC_CANCEL</c>.</summary>
public enum CancelOutcome
{
    /// <summary>The kernel found the operation and cancelled it (res 0); its future ends cancelled.</summary>
    Cancelled,

    /// <summary>The operation had already completed; its future carries its real result.</summary>
    AlreadyCompleted,

    /// <summary>The kernel did not know the operation (-ENOENT) although it had not completed yet.</summary>
    NotFound,

    /// <summary>The operation is already running and cannot be interrupted (-EALREADY); it will complete normally.</summary>
    AlreadyRunning,
}
