using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Uring.Bindings;

namespace Uring;

/// <summary>
/// Operations without futures, for C-like throughput: each call writes its SQE at once (no
/// object per operation, no continuation), <see cref="Submit"/> enters the kernel once for all of
/// them, and <see cref="Complete"/> hands the completions back as a span — a tag the caller chose,
/// the result, the CQE flags, and the buffer, owned by the caller again. The ownership rules are
/// those of every other operation: a buffer is the kernel's from the call until its completion,
/// and a handle (<see cref="FileDescriptor"/>) stays referenced until then.
/// </summary>
/// <remarks>
/// <para>A batch belongs to its ring's owner thread: a <see cref="RingThreading.CallerThread"/>
/// ring's creator, or a continuation running on a dedicated ring's loop thread. Other threads get
/// <see cref="InvalidOperationException"/>. It holds up to <see cref="Capacity"/> operations in
/// flight; another one throws <see cref="InvalidOperationException"/> until completions are taken.</para>
/// <para>Completions arrive whenever the ring reaps — in <see cref="Complete"/>, or while the ring
/// is driven for futures — and wait in the batch until <see cref="Complete"/> takes them. When the
/// ring is disposed, operations in flight are cancelled like any other; their completions
/// (-ECANCELED) stay readable, and their buffers are released after the CQE.</para>
/// </remarks>
public sealed unsafe class RingBatch : IDisposable
{
    private readonly Ring _ring;
    private readonly int _id;
    private readonly ulong[] _tags;
    private readonly OwnershipMemory?[] _buffers;
    private readonly SafeHandle?[] _handles;
    private readonly int[] _free;
    private int _freeCount;
    private int _inFlight;

    // Completions not taken yet (a ring buffer of Capacity entries: at most one per operation),
    // as plain data with the buffers beside: most completions carry none, and those then cost no
    // GC write barrier on the way from the CQE to the caller.
    private readonly ulong[] _readyTags;
    private readonly int[] _readyResults;
    private readonly uint[] _readyFlags;
    private readonly OwnershipMemory?[] _readyBuffers;
    private int _readyHead, _readyCount;
    private bool _disposed;

    internal RingBatch(Ring ring, int id, int capacity)
    {
        _ring = ring;
        _id = id;
        Capacity = capacity;
        _tags = new ulong[capacity];
        _buffers = new OwnershipMemory?[capacity];
        _handles = new SafeHandle?[capacity];
        _free = new int[capacity];
        _readyTags = new ulong[capacity];
        _readyResults = new int[capacity];
        _readyFlags = new uint[capacity];
        _readyBuffers = new OwnershipMemory?[capacity];
        for (var i = 0; i < capacity; i++)
            _free[i] = capacity - 1 - i;
        _freeCount = capacity;
    }

    /// <summary>Operations the batch can have in flight or completed but not taken.</summary>
    public int Capacity { get; }

    /// <summary>Operations whose completion has not arrived yet.</summary>
    public int InFlight => _inFlight;

    /// <summary>Completions waiting for <see cref="Complete"/>.</summary>
    public int Ready => _readyCount;

    /// <summary>IORING_OP_NOP tagged <paramref name="tag"/>.</summary>
    public void Nop(ulong tag)
    {
        var sqe = Begin(io_uring_op.IORING_OP_NOP, out var index);
        Liburing.io_uring_prep_nop(sqe);
        Commit(sqe, index, tag);
    }

    /// <summary>IORING_OP_READ into <paramref name="buffer"/> (lent until the completion), as <see cref="Ring.Read(FileDescriptor, OwnershipMemory, long, int, CancellationToken)"/>.</summary>
    public void Read(FileDescriptor fd, OwnershipMemory buffer, long offset, ulong tag, int length = -1)
    {
        var index = Lend(io_uring_op.IORING_OP_READ, fd, buffer, offset, length, out var raw, out var count, out var sqe);
        Liburing.io_uring_prep_read(sqe, raw, buffer.Pointer, count, (ulong)offset);
        Commit(sqe, index, tag);
    }

    /// <summary>IORING_OP_WRITE of <paramref name="buffer"/> (lent until the completion).</summary>
    public void Write(FileDescriptor fd, OwnershipMemory buffer, long offset, ulong tag, int length = -1)
    {
        var index = Lend(io_uring_op.IORING_OP_WRITE, fd, buffer, offset, length, out var raw, out var count, out var sqe);
        Liburing.io_uring_prep_write(sqe, raw, buffer.Pointer, count, (ulong)offset);
        Commit(sqe, index, tag);
    }

    /// <summary>IORING_OP_SEND of <paramref name="buffer"/> (MSG_NOSIGNAL added).</summary>
    public void Send(FileDescriptor fd, OwnershipMemory buffer, ulong tag, int length = -1, MessageFlags flags = MessageFlags.None)
    {
        var index = Lend(io_uring_op.IORING_OP_SEND, fd, buffer, 0, length, out var raw, out var count, out var sqe);
        Liburing.io_uring_prep_send(sqe, raw, buffer.Pointer, count, (int)(flags | MessageFlags.NoSignal));
        Commit(sqe, index, tag);
    }

    /// <summary>IORING_OP_RECV into <paramref name="buffer"/>.</summary>
    public void Receive(FileDescriptor fd, OwnershipMemory buffer, ulong tag, int length = -1, MessageFlags flags = MessageFlags.None)
    {
        var index = Lend(io_uring_op.IORING_OP_RECV, fd, buffer, 0, length, out var raw, out var count, out var sqe);
        Liburing.io_uring_prep_recv(sqe, raw, buffer.Pointer, count, (int)flags);
        Commit(sqe, index, tag);
    }

    /// <summary>Enters the kernel once for every SQE prepared so far (this batch's and any other); returns how many were submitted.</summary>
    public int Submit()
    {
        CheckOwner();
        return _ring.SubmitNow();
    }

    /// <summary>
    /// Copies completions into <paramref name="completions"/>, oldest first; waits (submitting what
    /// is prepared) until at least <paramref name="minimum"/> are there, or as many as are in flight
    /// if fewer. Returns how many were copied (at most the span's length).
    /// </summary>
    public int Complete(Span<BatchCompletion> completions, int minimum = 1)
    {
        CheckOwner();
        minimum = Math.Min(Math.Min(minimum, completions.Length), _readyCount + _inFlight);
        var n = TakeReady(completions);
        while (n < minimum)
        {
            n += _ring.SubmitAndTake(this, completions[n..], minimum - n);
            n += TakeReady(completions[n..]);
        }
        return n;
    }

    /// <summary>Moves completions collected earlier into <paramref name="completions"/>.</summary>
    private int TakeReady(Span<BatchCompletion> completions)
    {
        var n = Math.Min(completions.Length, _readyCount);
        var head = _readyHead;
        for (var i = 0; i < n; i++)
        {
            var buffer = _readyBuffers[head];
            if (buffer is null)
            {
                completions[i] = new BatchCompletion(_readyTags[head], _readyResults[head], _readyFlags[head], null);
            }
            else
            {
                _readyBuffers[head] = null;
                completions[i] = new BatchCompletion(_readyTags[head], _readyResults[head], _readyFlags[head], buffer);
            }
            head = head + 1 == Capacity ? 0 : head + 1;
        }
        _readyHead = head;
        _readyCount -= n;
        return n;
    }

    /// <summary>Forgets the batch. Operations still in flight keep their buffers until their CQEs
    /// (collected by the ring as it runs, or by its disposal); completions not taken are dropped.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        CheckOwner();
        _disposed = true;
        _ring.ForgetBatchWhenIdle(this);
    }

    // ------------------------------------------------------------------ ring side (owner thread)

    internal int Id => _id;

    internal bool IsIdle => _inFlight == 0;

    internal bool IsForgotten => _disposed;

    /// <summary>The CQE of entry <paramref name="index"/>, collected for a later <see cref="Complete"/>.</summary>
    internal void OnCompletion(int index, int res, uint flags)
    {
        var buffer = Retire(index, res, out var tag);
        if (_disposed)
            return;
        var at = _readyHead + _readyCount;
        if (at >= Capacity)
            at -= Capacity;
        _readyTags[at] = tag;
        _readyResults[at] = res;
        _readyFlags[at] = flags;
        if (buffer is not null)
            _readyBuffers[at] = buffer;
        _readyCount++;
    }

    /// <summary>The CQE of entry <paramref name="index"/>, read by <see cref="Complete"/> straight from
    /// the CQ while nothing was collected before it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal BatchCompletion Take(int index, int res, uint flags)
    {
        var buffer = Retire(index, res, out var tag);
        return new BatchCompletion(tag, res, flags, buffer);
    }

    /// <summary>Ends entry <paramref name="index"/>: its buffer is the caller's again (returned on
    /// success, which this returns; released otherwise), its handle unreferenced, the entry free.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private OwnershipMemory? Retire(int index, int res, out ulong tag)
    {
        _inFlight--;
        var buffer = _buffers[index];
        if (buffer is not null)
        {
            _buffers[index] = null;
            if (res >= 0)
            {
                buffer.ReturnFromKernel();
            }
            else
            {
                buffer.ReleaseAfterKernel();
                buffer = null;
            }
        }
        var handle = _handles[index];
        if (handle is not null)
        {
            _handles[index] = null;
            handle.DangerousRelease();
        }
        tag = _tags[index];
        _free[_freeCount++] = index;
        return buffer;
    }

    /// <summary>The kernel never answered (a shutdown that timed out): keep the buffers and handles forever.</summary>
    internal void Abandon()
    {
        for (var i = 0; i < _buffers.Length; i++)
        {
            _buffers[i]?.Quarantine();
            _buffers[i] = null;
            _handles[i] = null;
        }
        _inFlight = 0;
    }

    // ------------------------------------------------------------------ preparing

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private io_uring_sqe* Begin(io_uring_op opcode, out int index)
    {
        CheckOwner();
        if (_freeCount == 0 || _readyCount + _inFlight >= Capacity)
            throw Full();
        var sqe = _ring.GetSqeForBatch(opcode);
        index = _free[--_freeCount];
        return sqe;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Commit(io_uring_sqe* sqe, int index, ulong tag)
    {
        _tags[index] = tag;
        sqe->user_data = _ring.BatchUserData(_id, index);
        _inFlight++;
        _ring.BatchOperationPrepared();
    }

    private int Lend(io_uring_op opcode, FileDescriptor fd, OwnershipMemory buffer, long offset, int length, out int raw, out uint count, out io_uring_sqe* sqe)
    {
        CheckOwner();
        fd.Check(nameof(fd));
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentChecks.Offset(offset, nameof(offset));
        count = ArgumentChecks.Length(length, buffer.Length, opcode, nameof(length));
        if (_freeCount == 0 || _readyCount + _inFlight >= Capacity)
            throw Full();
        byte fixedFlag = 0;
        SafeHandle? handle = null;
        raw = fd.Acquire(_ring, ref fixedFlag, ref handle, nameof(fd));
        var lent = false;
        try
        {
            buffer.TransferToKernel(opcode);
            lent = true;
            sqe = _ring.GetSqeForBatch(opcode);
        }
        catch
        {
            if (lent)
                buffer.RollbackTransfer();
            FileDescriptor.Release(ref handle);
            throw;
        }
        var index = _free[--_freeCount];
        _buffers[index] = buffer;
        _handles[index] = handle;
        sqe->flags |= fixedFlag;
        return index;
    }

    private void CheckOwner()
    {
        if (!_ring.IsOnOwnerStack)
            throw new InvalidOperationException("A RingBatch is used on its ring's owner thread only (a CallerThread ring's creator, or a continuation on the loop thread).");
        if (_disposed)
            throw new ObjectDisposedException(nameof(RingBatch));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private InvalidOperationException Full() =>
        new($"The batch holds {Capacity} operations in flight or waiting to be taken: take completions (Complete) first.");
}

/// <summary>A completion of a <see cref="RingBatch"/> operation: the tag it was given, the kernel's
/// result (bytes, or -errno), the CQE flags, and the buffer — the caller's again — on success.</summary>
public readonly record struct BatchCompletion(ulong Tag, int Result, uint Flags, OwnershipMemory? Buffer);
