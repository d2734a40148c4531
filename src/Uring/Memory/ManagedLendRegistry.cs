using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Uring.Bindings;

namespace Uring;

/// <summary>
/// The managed bytes currently lent to the kernel, by the object that holds them (an array or a
/// <see cref="MemoryManager{T}"/>) and range. Two wrappers (<see cref="OwnershipMemory.FromMemory"/>)
/// over overlapping bytes of one array cannot both be lent: the second lend is refused, so the
/// kernel never has two operations writing (or one writing, one reading) the same managed bytes.
/// </summary>
/// <remarks>
/// Striped by the holder's identity hash; entries exist only while bytes are lent, and range lists
/// are recycled, so steady-state lending allocates nothing here.
/// </remarks>
internal static class ManagedLendRegistry
{
    private const int StripeCount = 16;
    private static readonly Stripe[] s_stripes = CreateStripes();

    private sealed class Stripe
    {
        public readonly Dictionary<object, RangeList> Lent = new(ReferenceEqualityComparer.Instance);
        public readonly Stack<RangeList> Spare = new();
    }

    private sealed class RangeList
    {
        public Range[] Items = new Range[2];
        public int Count;
    }

    private struct Range
    {
        public int Start, End;
        public OwnershipMemory Holder;
    }

    private static Stripe[] CreateStripes()
    {
        var stripes = new Stripe[StripeCount];
        for (var i = 0; i < stripes.Length; i++)
            stripes[i] = new Stripe();
        return stripes;
    }

    /// <summary>The object that owns <paramref name="memory"/>'s bytes and where they start in it;
    /// null for empty memory (nothing to protect).</summary>
    internal static object? KeyOf(Memory<byte> memory, out int start)
    {
        if (memory.IsEmpty)
        {
            start = 0;
            return null;
        }
        if (MemoryMarshal.TryGetArray<byte>(memory, out var segment))
        {
            start = segment.Offset;
            return segment.Array;
        }
        if (MemoryMarshal.TryGetMemoryManager<byte, MemoryManager<byte>>(memory, out var manager, out start, out _))
            return manager;
        start = 0;
        return null; // Memory<byte> is backed by an array or a manager; nothing else exists
    }

    private static Stripe StripeOf(object key) => s_stripes[RuntimeHelpers.GetHashCode(key) & (StripeCount - 1)];

    /// <exception cref="BufferBusyException">Some of these bytes are already lent by another wrapper.</exception>
    internal static void Register(object key, int start, int length, OwnershipMemory holder, io_uring_op opcode)
    {
        var stripe = StripeOf(key);
        var end = start + length;
        lock (stripe)
        {
            if (stripe.Lent.TryGetValue(key, out var list))
            {
                for (var i = 0; i < list.Count; i++)
                {
                    ref var r = ref list.Items[i];
                    if (r.Start < end && start < r.End)
                        throw new BufferBusyException(
                            $"Cannot submit this memory to {opcode}: bytes [{Math.Max(start, r.Start)}, {Math.Min(end, r.End)}) of the same " +
                            $"{(key is byte[] ? "array" : "MemoryManager")} are already lent to the kernel by another OwnershipMemory until its operation completes.");
                }
            }
            else
            {
                list = stripe.Spare.TryPop(out var spare) ? spare : new RangeList();
                stripe.Lent.Add(key, list);
            }
            if (list.Count == list.Items.Length)
                Array.Resize(ref list.Items, list.Items.Length * 2);
            list.Items[list.Count++] = new Range { Start = start, End = end, Holder = holder };
        }
    }

    internal static void Unregister(object key, int start, OwnershipMemory holder)
    {
        var stripe = StripeOf(key);
        lock (stripe)
        {
            if (!stripe.Lent.TryGetValue(key, out var list))
                return;
            for (var i = 0; i < list.Count; i++)
            {
                if (!ReferenceEquals(list.Items[i].Holder, holder) || list.Items[i].Start != start)
                    continue;
                list.Items[i] = list.Items[--list.Count];
                list.Items[list.Count] = default;
                break;
            }
            if (list.Count == 0)
            {
                stripe.Lent.Remove(key);
                if (stripe.Spare.Count < 64)
                    stripe.Spare.Push(list);
            }
        }
    }

    /// <summary>How many ranges of <paramref name="key"/> (an array or MemoryManager) are lent right now.</summary>
    internal static int LentRangesOf(object key)
    {
        var stripe = StripeOf(key);
        lock (stripe)
            return stripe.Lent.TryGetValue(key, out var list) ? list.Count : 0;
    }

    /// <summary>How many managed ranges are lent right now, process-wide.</summary>
    internal static int LentRanges
    {
        get
        {
            var n = 0;
            foreach (var stripe in s_stripes)
                lock (stripe)
                    foreach (var list in stripe.Lent.Values)
                        n += list.Count;
            return n;
        }
    }
}
