using Uring.Bindings;

namespace Uring;

/// <summary>
/// Lending buffers to the kernel for an operation, all or none. Outside a chain a buffer moves
/// to the kernel once per operation; in a chain a buffer an earlier member lent is leased again
/// by the later ones and comes back with the last of their CQEs (<c>chainLent</c> collects what
/// the chain lent so far, and rolls it back if a later buffer is refused).
/// </summary>
internal static class BufferLending
{
    internal static void Lend(OwnershipMemory buffer, io_uring_op opcode, List<OwnershipMemory>? chainLent)
    {
        if (chainLent is null)
        {
            buffer.TransferToKernel(opcode);
            return;
        }
        if (Contains(chainLent, buffer))
            buffer.AddChainLease();
        else
            buffer.TransferToKernel(opcode);
        chainLent.Add(buffer);
    }

    internal static void Lend(OwnershipMemory[] buffers, io_uring_op opcode, List<OwnershipMemory>? chainLent)
    {
        if (chainLent is not null)
        {
            foreach (var buffer in buffers)
                Lend(buffer, opcode, chainLent);
            return;
        }
        var done = 0;
        try
        {
            for (; done < buffers.Length; done++)
                buffers[done].TransferToKernel(opcode);
        }
        catch
        {
            for (var i = 0; i < done; i++)
                buffers[i].RollbackTransfer();
            throw;
        }
    }

    /// <summary>After the CQE: back to the caller on success, released otherwise.</summary>
    internal static void GiveBack(OwnershipMemory? buffer, bool success)
    {
        if (buffer is null)
            return;
        if (success)
            buffer.ReturnFromKernel();
        else
            buffer.ReleaseAfterKernel();
    }

    internal static void GiveBack(OwnershipMemory[]? buffers, bool success)
    {
        if (buffers is null)
            return;
        foreach (var buffer in buffers)
            GiveBack(buffer, success);
    }

    /// <summary>A wait for the operation was abandoned: release the buffer at its CQE instead of
    /// handing it back. 1 when that is now arranged (the kernel still had it), 0 when the CQE has
    /// already given it back (whoever receives the result releases it then).</summary>
    internal static int ReleaseWhenReturned(OwnershipMemory? buffer) => buffer is not null && buffer.ReleaseWhenReturned() ? 1 : 0;

    /// <summary>As above for a list: bit i stands for buffers[i].</summary>
    internal static int ReleaseWhenReturned(OwnershipMemory[]? buffers)
    {
        if (buffers is null)
            return 0;
        var mask = 0;
        for (var i = 0; i < buffers.Length && i < 32; i++)
            if (buffers[i].ReleaseWhenReturned())
                mask |= 1 << i;
        return mask;
    }

    internal static void Quarantine(OwnershipMemory? buffer) => buffer?.Quarantine();

    internal static void Quarantine(OwnershipMemory[]? buffers)
    {
        if (buffers is null)
            return;
        foreach (var buffer in buffers)
            buffer.Quarantine();
    }

    private static bool Contains(List<OwnershipMemory> lent, OwnershipMemory buffer)
    {
        foreach (var b in lent)
            if (ReferenceEquals(b, buffer))
                return true;
        return false;
    }
}
