using System.Runtime.InteropServices;

namespace Uring.Scripting;

// Linked chains (IOSQE_IO_LINK / IOSQE_IO_HARDLINK): members are added through the operations'
// entry points (their chain argument) with their tokens, then submitted together; each member
// ends as its own completion.
public static unsafe partial class Exports
{
    /// <summary><c>int uring_chain_create(intptr_t ring, int hard_links, intptr_t* chain)</c>: an empty chain builder.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_chain_create")]
    public static int ChainCreate(nint ring, int hardLinks, nint* chain)
    {
        try
        {
            var c = ScriptArguments.Ring(ring).Open().CreateChain(hardLinks != 0);
            *chain = GCHandle.ToIntPtr(GCHandle.Alloc(c));
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_chain_submit(intptr_t chain)</c>: links the members and queues them as one unit.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_chain_submit")]
    public static int ChainSubmit(nint chain)
    {
        try
        {
            ScriptArguments.Chain(chain).Submit();
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }

    /// <summary><c>int uring_chain_free(intptr_t chain)</c>: frees the builder; an unsubmitted chain's members end cancelled.</summary>
    [UnmanagedCallersOnly(EntryPoint = "uring_chain_free")]
    public static int ChainFree(nint chain)
    {
        try
        {
            ScriptArguments.Chain(chain).Dispose();
            GCHandle.FromIntPtr(chain).Free();
            return 0;
        }
        catch (Exception e)
        {
            return ExportGuard.Fail(e);
        }
    }
}
