using System.Runtime.InteropServices;

namespace Uring.Scripting;

/// <summary>
/// One finished operation as the C ABI hands it out (16 bytes, C layout
/// <c>struct { uint64_t token; int32_t result; uint32_t status; }</c>).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct Completion
{
    /// <summary>The caller's token for the operation.</summary>
    public ulong Token;

    /// <summary>
    /// With <see cref="ErrorKind.None"/>: the operation's value (bytes transferred, a new fd, 0 for
    /// nop/close, 1/0 for a timeout that elapsed / was satisfied by completions, a
    /// <see cref="CancelOutcome"/> for a cancel). Otherwise the negative errno.
    /// </summary>
    public int Result;

    /// <summary>An <see cref="ErrorKind"/>: how the operation ended; with <see cref="MoreFlag"/>, one item of a
    /// multishot operation (more completions follow under the same token).</summary>
    public uint Status;

    /// <summary>Set in <see cref="Status"/> for the items of a multishot operation; its last completion lacks it.</summary>
    public const uint MoreFlag = 0x100;

    /// <summary>Set in <see cref="Status"/>, with <see cref="MoreFlag"/>, on a completion that reports what
    /// happened to a stream rather than an item: for a resilient accept, a pause (<see cref="Result"/> is
    /// an <see cref="AcceptPauseKind"/>; the details are taken with <see cref="Exports.AcceptPauseTake"/>).</summary>
    public const uint EventFlag = 0x200;
}
