using System.Runtime.InteropServices;
using Uring.Bindings;

namespace Uring;

/// <summary>
/// A provided buffer ring (<c>io_uring_setup_buf_ring</c>): <see cref="Count"/> buffers of
/// <see cref="BufferSize"/> bytes registered under buffer group <see cref="GroupId"/>. A receive
/// with IOSQE_BUFFER_SELECT lets the kernel pick a buffer only when data arrives, so a pending
/// receive on an idle connection holds no memory; the data comes back as a
/// <see cref="ProvidedBuffer"/> lease whose Dispose returns the buffer to the ring.
/// </summary>
/// <remarks>
/// <para><b>ENOBUFS policy.</b> When every buffer is lent out, the kernel fails a receive with
/// ENOBUFS; no data is lost (it stays in the socket). A one-shot
/// <see cref="Ring.ReceiveProvided(FileDescriptor, BufferRing, MessageFlags, CancellationToken)"/>
/// reports it: the future fails with <see cref="UringIOException"/> (<c>Errno == 105</c>) and the
/// caller decides (<see cref="WaitForBufferAsync"/> then retry, or drop the connection). A
/// multishot receive (<see cref="Ring.ReceiveMultishot(FileDescriptor, BufferRing, MessageFlags)"/>)
/// waits: it re-arms as soon as a lease is returned (at once if a buffer is already back). The ring
/// never grows: its memory is fixed at creation.</para>
/// <para>Each buffer is an <see cref="OwnershipMemory"/> in state <see cref="OwnershipState.Pooled"/>
/// while it sits in the ring (the kernel may write to it) and <see cref="OwnershipState.User"/>
/// while a lease holds it. Returns may come from any thread.</para>
/// <para>Dispose the buffer ring after the operations that use it have completed, or with (or
/// after) its <see cref="Ring"/>: while the ring is shutting down, the memory is freed only once
/// the shutdown has collected every CQE. Buffers still leased are freed when their leases are
/// disposed.</para>
/// </remarks>
public sealed unsafe class BufferRing : IOwnershipMemoryPool, IDisposable
{
    private readonly Ring _ring;
    private readonly OwnershipMemory[] _buffers;
    private readonly uint[] _generations;
    private readonly uint[] _releasedByRing; // per buffer: the lease generation the façade released (after a failed operation)
    private readonly bool[] _leased;
    private readonly Lock _lock = new();
    private readonly List<Action> _waiters = new();
    private readonly int _mask;
    private io_uring_buf_ring* _bufRing;
    private int _outstanding;
    private bool _disposed;
    private long _enobufs;

    internal BufferRing(Ring ring, ushort groupId, int count, int bufferSize)
    {
        _ring = ring;
        GroupId = groupId;
        Count = count;
        BufferSize = bufferSize;
        _buffers = new OwnershipMemory[count];
        _generations = new uint[count];
        _releasedByRing = new uint[count];
        _leased = new bool[count];
        try
        {
            for (var i = 0; i < count; i++)
            {
                var block = OwnershipMemory.AllocateForPool(bufferSize, 64, this);
                _buffers[i] = block;
                block.PoolIndex = i;
                block.Dispose(); // User -> Pooled: only the kernel may touch it now
            }
            var err = 0;
            _bufRing = ring.InvokeOnOwnerThread(() =>
            {
                var e = 0;
                var br = Liburing.io_uring_setup_buf_ring(ring.NativeRing, (uint)count, groupId, 0, &e);
                err = e;
                return (IntPtr)br;
            }) is var p && p != IntPtr.Zero ? (io_uring_buf_ring*)p : null;
            if (_bufRing == null)
                throw new UringIOException(-err, $"io_uring_setup_buf_ring(entries={count}, bgid={groupId})");
            _mask = Liburing.io_uring_buf_ring_mask((uint)count);
            for (var i = 0; i < count; i++)
                Liburing.io_uring_buf_ring_add(_bufRing, _buffers[i].Pointer, (uint)bufferSize, (ushort)i, _mask, i);
            Liburing.io_uring_buf_ring_advance(_bufRing, count);
        }
        catch
        {
            foreach (var b in _buffers)
                if (b is not null && b.State == OwnershipState.Pooled)
                    b.FreeFromPool();
            throw;
        }
    }

    /// <summary>The buffer group id (the SQE's buf_group).</summary>
    public ushort GroupId { get; }

    /// <summary>Number of buffers (a power of two).</summary>
    public int Count { get; }

    /// <summary>Size of each buffer in bytes.</summary>
    public int BufferSize { get; }

    /// <summary>The ring this buffer group is registered with.</summary>
    public Ring Ring => _ring;

    /// <summary>Buffers held by leases (handed out by the kernel and not returned yet).</summary>
    public int Leased => Volatile.Read(ref _outstanding);

    /// <summary>Buffers in the ring as the façade counts them (<see cref="Count"/> - <see cref="Leased"/>).</summary>
    public int Available => Count - Leased;

    /// <summary>True once <see cref="Dispose"/> was called.</summary>
    public bool IsDisposed { get { lock (_lock) return _disposed; } }

    /// <summary>How many times a receive on this ring ended with ENOBUFS.</summary>
    public long EnobufsCount => Interlocked.Read(ref _enobufs);

    /// <summary>
    /// The kernel's own count of buffers it can still pick (<c>io_uring_buf_ring_available</c>,
    /// IORING_REGISTER_PBUF_STATUS); runs on the ring's owner thread.
    /// </summary>
    public int KernelAvailable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var r = _ring.InvokeOnOwnerThread(() => (IntPtr)Liburing.io_uring_buf_ring_available(_ring.NativeRing, _bufRing, GroupId));
        if ((int)r < 0)
            throw new UringIOException(-(int)r, "io_uring_buf_ring_available");
        return (int)r;
    }

    /// <summary>Completes when at least one buffer is back in the ring (at once if one is).</summary>
    public Task WaitForBufferAsync(CancellationToken cancellationToken = default)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!WhenBufferReturned(() => tcs.TrySetResult()))
            return Task.CompletedTask;
        return cancellationToken.CanBeCanceled ? tcs.Task.WaitAsync(cancellationToken) : tcs.Task;
    }

    /// <summary>Runs <paramref name="action"/> after the next return; false (and not registered)
    /// when a buffer is already back in the ring (or the ring is disposed): act at once then.</summary>
    internal bool WhenBufferReturned(Action action)
    {
        lock (_lock)
        {
            // Wait only while every buffer is leased. The caller reacts to an ENOBUFS the kernel
            // reported earlier; leases returned since then are already back in the ring and will
            // not call Return again. Waiting for "the next return" whenever any lease was
            // outstanding lost those wake-ups: when the consumer returned leases between the
            // kernel's ENOBUFS and the dispatch of its CQE, the multishot receive parked with
            // buffers in the ring while the consumer held the rest waiting for the next item, and
            // the stream hung. _outstanding and the ring's tail change together under _lock, so
            // this check cannot miss a return. (A buffer counted as back may already be picked by
            // another receive whose CQE is not dispatched yet: the caller then gets ENOBUFS once
            // more and comes back here after that CQE has been counted.)
            if (_outstanding < Count || _disposed)
                return false;
            _waiters.Add(action);
            return true;
        }
    }

    internal void NoteEnobufs() => Interlocked.Increment(ref _enobufs);

    /// <summary>The kernel reported buffer <paramref name="bufferId"/> filled with <paramref name="length"/> bytes: lease it out.</summary>
    internal ProvidedBuffer Take(ushort bufferId, int length)
    {
        if (bufferId >= Count)
            throw new InvalidOperationException($"The kernel reported buffer id {bufferId}, outside buffer group {GroupId} of {Count}.");
        var block = _buffers[bufferId];
        uint generation;
        lock (_lock)
        {
            if (_leased[bufferId])
                throw new InvalidOperationException($"The kernel reported buffer {bufferId} of group {GroupId}, which is already leased.");
            _leased[bufferId] = true;
            generation = ++_generations[bufferId];
            _outstanding++;
        }
        block.ActivateFromPool();
        return new ProvidedBuffer(this, block, bufferId, length, generation);
    }

    internal void ReturnLease(ushort bufferId, uint generation)
    {
        lock (_lock)
        {
            if (!_leased[bufferId] || _generations[bufferId] != generation)
            {
                if (_releasedByRing[bufferId] == generation && generation != 0)
                {
                    // The façade gave the buffer back after an operation on it failed; the owner's
                    // own Dispose (a using block) is then a harmless no-op, once.
                    _releasedByRing[bufferId] = 0;
                    return;
                }
                throw new ObjectDisposedException(nameof(ProvidedBuffer), $"This lease of buffer {bufferId} (group {GroupId}) was already disposed.");
            }
        }
        // -> Return, which ends this generation. Throws BufferBusyException (and changes nothing)
        // while an operation still has the buffer, e.g. a send of the received bytes.
        _buffers[bufferId].Dispose();
    }

    /// <summary>Called by <see cref="OwnershipMemory.Dispose"/> of a leased buffer: hands it back to the kernel.</summary>
    void IOwnershipMemoryPool.Return(OwnershipMemory memory)
    {
        List<Action>? wake = null;
        lock (_lock)
        {
            var id = (ushort)memory.PoolIndex;
            if (id >= Count || !ReferenceEquals(_buffers[id], memory))
                throw new InvalidOperationException($"A block that is not a buffer of group {GroupId} was returned to it.");
            if (!_leased[id])
                return; // the initial Dispose in the constructor
            _leased[id] = false;
            _releasedByRing[id] = memory.IsReleasedByRing ? _generations[id] : 0;
            _generations[id]++; // stale copies of the lease now fail ReturnLease's check
            _outstanding--;
            if (_disposed)
            {
                memory.FreeFromPool();
                return;
            }
            VectorState.ZeroUpper(); // before liburing's SSE code (see VectorState)
            Liburing.io_uring_buf_ring_add(_bufRing, memory.Pointer, (uint)BufferSize, id, _mask, 0);
            Liburing.io_uring_buf_ring_advance(_bufRing, 1);
            if (_waiters.Count > 0)
            {
                wake = new List<Action>(_waiters);
                _waiters.Clear();
            }
        }
        if (wake is not null)
            foreach (var a in wake)
                a();
    }

    /// <summary>
    /// Unregisters the buffer group and frees the buffers that are in the ring; leased buffers
    /// are freed when their leases are disposed. When the ring is being disposed, the memory is
    /// freed once its shutdown has collected every CQE. Idempotent.
    /// </summary>
    public void Dispose()
    {
        List<Action> wake;
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            wake = new List<Action>(_waiters);
            _waiters.Clear();
        }
        var br = _bufRing;
        _ring.ForgetBufferRing(this);
        if (!_ring.IsDisposed)
        {
            var r = -1;
            try
            {
                r = (int)_ring.InvokeOnOwnerThread(() => (IntPtr)Liburing.io_uring_free_buf_ring(_ring.NativeRing, br, (uint)Count, GroupId));
            }
            catch (RingDisposedException)
            {
            }
            if (r == 0)
                FreeBuffers();
            else if (!_ring.IsDisposed)
                QuarantineBuffers(); // still registered: the kernel may pick and fill them, so they are never freed
            else
                FreeAfterShutdown(br);
        }
        else
        {
            FreeAfterShutdown(br);
        }
        foreach (var a in wake)
            a();
    }

    /// <summary>The ring is gone or going: free the memory once its shutdown is complete (no request can use it then).</summary>
    private void FreeAfterShutdown(io_uring_buf_ring* br)
    {
        if (_ring.IsShutDown)
        {
            munmap(br, (nuint)Count * (nuint)sizeof(io_uring_buf)); // liburing's mapping of the ring entries
            FreeBuffers();
            return;
        }
        var address = (IntPtr)br;
        ThreadPool.QueueUserWorkItem(_ =>
        {
            while (!_ring.IsShutDown) // bounded by the ring's ShutdownTimeout
                Thread.Sleep(5);
            FreeAfterShutdown((io_uring_buf_ring*)address);
        });
    }

    private void FreeBuffers()
    {
        lock (_lock)
        {
            _bufRing = null;
            for (var i = 0; i < Count; i++)
                if (!_leased[i] && _buffers[i].State == OwnershipState.Pooled)
                    _buffers[i].FreeFromPool();
        }
    }

    private void QuarantineBuffers()
    {
        lock (_lock)
            foreach (var b in _buffers)
                b.Quarantine();
    }

    [DllImport("libc")]
    private static extern int munmap(void* addr, nuint length);
}
