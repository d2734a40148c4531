namespace Uring;

/// <summary>
/// A pool that <see cref="OwnershipMemory"/> blocks go back to when disposed. Implement it to
/// plug your own pool in; <see cref="OwnershipMemoryPool"/> is a ready one.
/// </summary>
/// <remarks>
/// A block created with <see cref="OwnershipMemory.AllocateForPool"/> calls <see cref="Return"/>
/// from its <see cref="OwnershipMemory.Dispose"/> — which the façade itself does only after the
/// kernel's CQE for the last operation that borrowed it, even when that operation was cancelled
/// or its future abandoned. The block is then <see cref="OwnershipState.Pooled"/>; the pool hands
/// it out again after <see cref="OwnershipMemory.ActivateFromPool"/>, or frees it with
/// <see cref="OwnershipMemory.FreeFromPool"/>. <see cref="Return"/> may be called on any thread
/// (the ring's loop thread included) and must not block.
/// </remarks>
public interface IOwnershipMemoryPool
{
    /// <summary>Takes back a block (now in state <see cref="OwnershipState.Pooled"/>).</summary>
    void Return(OwnershipMemory memory);
}
