using Uring.Bindings;

namespace Uring;

/// <summary>
/// Builds a chain of linked operations (IOSQE_IO_LINK / IOSQE_IO_HARDLINK): each member starts
/// only after the previous one succeeded (with hard links: completed). If a member fails, the
/// rest end with -ECANCELED (<see cref="OperationCanceledException"/>). Every operation of the
/// ring can be a member (the methods of this class are generated from the operation table);
/// each add returns that member's future; nothing reaches the kernel before <see cref="Submit"/>.
/// <see cref="LinkTimeout"/> limits the member added just before it.
/// </summary>
/// <remarks>
/// Buffers move to the kernel at <see cref="Submit"/>, all or none. Several members may use the
/// same buffer (read into it, then write it out): it is lent once and comes back when the last
/// of those members has its CQE — so an earlier member's result may hand back a buffer that is
/// still kernel-owned for a moment. If any of them fails, the buffer is released with that last
/// CQE. Disposing an unsubmitted chain ends its futures as cancelled. A builder is not thread-safe.
/// </remarks>
public sealed partial class LinkedChain : IDisposable
{
    private readonly Ring _ring;
    private readonly bool _hardLinks;
    private readonly List<Operation> _members = new();
    private bool _done;

    internal LinkedChain(Ring ring, bool hardLinks)
    {
        _ring = ring;
        _hardLinks = hardLinks;
    }

    /// <summary>Members added so far.</summary>
    public int Count => _members.Count;

    /// <summary>
    /// Adds IORING_OP_LINK_TIMEOUT for the member added just before: if that member is still
    /// running after <paramref name="timeout"/>, the kernel cancels it (its future then throws
    /// <see cref="TimeoutException"/>). This future says whether the timeout fired.
    /// </summary>
    public CancelableFuture<bool> LinkTimeout(TimeSpan timeout)
    {
        if (_members.Count == 0 || _members[^1].Opcode == io_uring_op.IORING_OP_LINK_TIMEOUT)
            throw new InvalidOperationException("A link timeout must follow the operation it limits.");
        var future = Add(LinkTimeoutOperation.Create(_ring, timeout));
        _members[^2].HasLinkTimeout = true;
        return future;
    }

    /// <summary>Adds IORING_OP_FSYNC, with IORING_FSYNC_DATASYNC when <paramref name="dataOnly"/> (<see cref="Fdatasync"/>).</summary>
    public CancelableFuture<int> Fsync(FileDescriptor fd, bool dataOnly) => dataOnly ? Fdatasync(fd) : Fsync(fd);

    private CancelableFuture<T> Add<T>(Operation<T> op)
    {
        if (_done)
        {
            op.Discard();
            throw new InvalidOperationException("This chain was already submitted or disposed.");
        }
        op.InChain = true;
        _members.Add(op);
        return new CancelableFuture<T>(op, op.Version);
    }

    /// <summary>Links the members and queues them as one unit.</summary>
    /// <exception cref="InvalidOperationException">Empty, or already submitted.</exception>
    /// <exception cref="BufferBusyException">A member's buffer is lent elsewhere (nothing was submitted; the futures end cancelled).</exception>
    public void Submit()
    {
        if (_done)
            throw new InvalidOperationException("This chain was already submitted or disposed.");
        if (_members.Count == 0)
            throw new InvalidOperationException("An empty chain cannot be submitted.");
        _done = true;
        var linkFlag = (byte)(_hardLinks ? Constants.IOSQE_IO_HARDLINK : Constants.IOSQE_IO_LINK);
        for (var i = 0; i < _members.Count - 1; i++)
        {
            _members[i].SqeFlags |= linkFlag;
            _members[i].NextInChain = _members[i + 1];
        }
        _members[0].ChainLength = _members.Count;
        _ring.StartChain(_members.ToArray());
    }

    /// <summary>Ends the futures of an unsubmitted chain as cancelled; no effect after <see cref="Submit"/>.</summary>
    public void Dispose()
    {
        if (_done)
            return;
        _done = true;
        foreach (var m in _members)
            m.Abort(new OperationCanceledException($"{m.Opcode} was not submitted: its chain was disposed before Submit()."));
    }
}
