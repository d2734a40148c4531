using System.Buffers;

namespace Uring;

/// <summary>Exposes an <see cref="OwnershipMemory"/> as <see cref="Memory{T}"/>; every span
/// request re-checks ownership, so a <c>Memory&lt;byte&gt;</c> kept across a submission throws
/// instead of racing the kernel.</summary>
internal sealed unsafe class OwnershipMemoryManager : MemoryManager<byte>
{
    private readonly OwnershipMemory _owner;

    public OwnershipMemoryManager(OwnershipMemory owner) => _owner = owner;

    /// <summary>The block this manager exposes (<see cref="OwnershipMemory.FromMemory"/> unwraps it).</summary>
    public OwnershipMemory Owner => _owner;

    public override Span<byte> GetSpan() => _owner.Span;

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        if (_owner.IsManaged)
            return _owner.PinManaged(elementIndex);
        var span = _owner.Span;
        if ((uint)elementIndex > (uint)span.Length)
            throw new ArgumentOutOfRangeException(nameof(elementIndex));
        return new MemoryHandle(_owner.Pointer + elementIndex);
    }

    public override void Unpin() { }

    protected override void Dispose(bool disposing) { }
}
