using Uring.Bindings;

namespace Uring;

/// <summary>
/// A zero-copy send produces two CQEs: the send's result (with IORING_CQE_F_MORE), while the
/// kernel may still read the buffer, and a notification (IORING_CQE_F_NOTIF) once it no longer
/// does. The operation keeps its slot and its buffer through the first and completes with the
/// second, reporting the send's result.
/// </summary>
internal static class ZeroCopySend
{
    /// <summary>Handles a CQE of a zero-copy send; true while the operation stays in the kernel.</summary>
    internal static bool OnAdditionalCompletion(Operation op, ref int res, uint flags, ref int sendResult, OwnershipMemory? buffer)
    {
        if ((flags & Constants.IORING_CQE_F_MORE) != 0)
        {
            sendResult = res;
            op.Ring.NoteZeroCopySendCompletion(buffer is { IsKernelOwned: true });
            return true;
        }
        if ((flags & Constants.IORING_CQE_F_NOTIF) != 0)
        {
            op.Ring.NoteZeroCopyNotification();
            res = sendResult; // the future reports the send's result, now that the buffer is free
        }
        return false;
    }
}

internal sealed partial class SendZeroCopyOperation
{
    private int _sendResult;

    internal override bool OnAdditionalCompletion(ref int res, uint flags) =>
        ZeroCopySend.OnAdditionalCompletion(this, ref res, flags, ref _sendResult, Buffer);

    partial void ClearHandWritten() => _sendResult = 0;
}

internal sealed partial class SendZeroCopyFixedOperation
{
    private int _sendResult;

    internal override bool OnAdditionalCompletion(ref int res, uint flags) =>
        ZeroCopySend.OnAdditionalCompletion(this, ref res, flags, ref _sendResult, Buffer.Memory);

    partial void ClearHandWritten() => _sendResult = 0;
}
