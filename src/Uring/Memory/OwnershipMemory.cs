using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Uring.Bindings;

namespace Uring;

/// <summary>
/// Native, aligned memory whose ownership moves to the kernel while an operation uses it.
/// </summary>
/// <remarks>
/// <para>Submitting an operation with this buffer moves it to <see cref="OwnershipState.Kernel"/>;
/// the operation's CQE moves it back (the result carries it in a <see cref="BufferResult{T}"/>).
/// While the kernel owns it, <see cref="Span"/>, <see cref="Memory"/>, <see cref="Slice"/>,
/// <see cref="Dispose"/> and another submission throw <see cref="BufferBusyException"/>.</para>
/// <para>If the operation fails or is cancelled, or its future is never awaited, the façade
/// disposes the buffer itself — freeing it or returning it to its pool — and does so only when
/// the kernel's CQE has arrived: the kernel can never write into memory the program reuses.</para>
/// <para>A slice shares its root's memory. While a slice is lent to the kernel its root is busy
/// too; while the root is lent, its slices are. Disposing a slice only gives the slice up;
/// disposing the root frees the memory and invalidates every slice.</para>
/// <para>A span obtained <em>before</em> a submission cannot be revoked; keep spans short-lived.
/// A pooled block that was disposed and rented again is the same object: do not keep
/// references to pooled blocks after disposing them.</para>
/// <para>Managed memory (<see cref="FromMemory"/>, <see cref="FromReadOnlyMemory"/>) follows the
/// same rules; it is pinned only while an operation has it (from the submission to the CQE), so
/// an idle wrapper does not fragment the GC heap. The program can still reach such memory
/// through its own array or <see cref="Memory{T}"/>: the façade cannot revoke that access.</para>
/// <para>Thread-safety: ownership transitions are atomic; the data itself is not synchronised.</para>
/// </remarks>
public sealed unsafe class OwnershipMemory : IDisposable
{
    // Buffers whose operation never produced a CQE before its ring gave up on it (a bounded
    // shutdown that timed out): the kernel may still write there, so they are never freed.
    private static readonly List<OwnershipMemory> s_quarantined = new();

    private readonly OwnershipMemory? _root;
    private readonly nuint _allocationSize;
    private readonly IOwnershipMemoryPool? _pool;
    private byte* _pointer;
    private int _state;              // OwnershipState
    private int _lentSlices;         // root only: slices currently owned by the kernel
    private io_uring_op _borrower;   // for messages
    private bool _releasedByRing;    // released by the façade after a failed/cancelled operation
    private int _leases;             // operations of one chain that still hold it (normally 1)
    private bool _releaseRequested;  // one of them failed: release when the last lease ends
    private bool _abandoned;         // its wait was abandoned: released at the CQE, so Dispose meanwhile is a no-op
    private OwnershipMemoryManager? _manager;
    private ManagedKind _managedKind;  // native memory, or the caller's managed memory (pinned while lent)
    private Memory<byte> _managed;     // managed forms: the caller's memory
    private MemoryHandle _pin;         // managed forms: the pin held while the kernel owns it
    private object? _lendKey;          // managed forms: the array or MemoryManager registered while lent
    private int _lendStart;            // managed forms: where the lent bytes start in _lendKey

    private enum ManagedKind : byte { Native, Writable, ReadOnly }

    /// <summary>The block's place in its pool, for the pool's own use (a <see cref="BufferRing"/>: the buffer id), so
    /// that a return finds it without a lookup; -1 outside a pool.</summary>
    internal int PoolIndex = -1;

    private OwnershipMemory(byte* pointer, int length, nuint allocationSize, int alignment, IOwnershipMemoryPool? pool, OwnershipMemory? root)
    {
        _pointer = pointer;
        Length = length;
        _allocationSize = allocationSize;
        Alignment = alignment;
        _pool = pool;
        _root = root;
    }

    private OwnershipMemory(Memory<byte> managed, ManagedKind kind, OwnershipMemory? root)
    {
        _managed = managed;
        _managedKind = kind;
        Length = managed.Length;
        Alignment = 1;
        _root = root;
        GC.SuppressFinalize(this); // nothing native to free: the pin never outlives the kernel's ownership
    }

    /// <summary>Frees the block if a program dropped it without disposing it (never while the kernel owns it).</summary>
    ~OwnershipMemory()
    {
        if (_root is null && _pointer != null && (OwnershipState)_state is OwnershipState.User or OwnershipState.Pooled)
        {
            NativeMemoryStatistics.Free(_pointer, _allocationSize);
            _pointer = null;
        }
    }

    /// <summary>Allocates <paramref name="length"/> bytes of zeroed native memory aligned to
    /// <paramref name="alignment"/> (a power of two; 4096 suits O_DIRECT).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive length, or an alignment that is not a power of two.</exception>
    public static OwnershipMemory Allocate(int length, int alignment = 4096) => AllocateCore(length, alignment, null);

    /// <summary>Allocates a block that returns to <paramref name="pool"/> when disposed (see <see cref="IOwnershipMemoryPool"/>).</summary>
    public static OwnershipMemory AllocateForPool(int length, int alignment, IOwnershipMemoryPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        return AllocateCore(length, alignment, pool);
    }

    private static OwnershipMemory AllocateCore(int length, int alignment, IOwnershipMemoryPool? pool)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "Alignment must be a positive power of two.");
        var size = (nuint)(((long)length + alignment - 1) / alignment * alignment);
        var p = (byte*)NativeMemoryStatistics.AllocateZeroed(size, (nuint)alignment);
        return new OwnershipMemory(p, length, size, alignment, pool, null);
    }

    /// <summary>
    /// Lends managed memory (an array, a slice of one, pooled or pipe memory) to operations.
    /// The memory is pinned when an operation takes it and unpinned only after that operation's
    /// CQE — on success, failure, cancellation and ring disposal alike; a ring that gives up on an
    /// operation (shutdown timeout) keeps it pinned forever. While lent, the same bytes cannot be
    /// lent again through another wrapper: an overlapping range of the same array or
    /// <see cref="MemoryManager{T}"/> is refused with <see cref="BufferBusyException"/>.
    /// </summary>
    /// <remarks>
    /// <para>The wrapper is small and reusable: keep it and lend it again to avoid an allocation
    /// per operation. Disposing it (or the façade releasing it after a failed operation) only
    /// drops the reference to the memory; nothing is freed.</para>
    /// <para>Not detectable: writes through the caller's own array, span or
    /// <see cref="Memory{T}"/> while the kernel owns the bytes; and two different
    /// <see cref="MemoryManager{T}"/> objects over the same native memory. Memory taken from
    /// another <see cref="OwnershipMemory"/> (its <see cref="Memory"/>) is not wrapped: the
    /// result is a <see cref="Slice"/> of that block, so the block's own rules apply.</para>
    /// </remarks>
    public static OwnershipMemory FromMemory(Memory<byte> memory) =>
        TryUnwrap(memory) ?? new OwnershipMemory(memory, ManagedKind.Writable, null);

    /// <summary>
    /// Like <see cref="FromMemory"/>, for memory the kernel may only read: operations that write
    /// into their buffer (reads, receives) refuse it with <see cref="ArgumentException"/>, and
    /// <see cref="Span"/> and <see cref="Memory"/> throw <see cref="InvalidOperationException"/>
    /// (read the bytes through the <see cref="ReadOnlyMemory{T}"/> you passed in).
    /// </summary>
    public static OwnershipMemory FromReadOnlyMemory(ReadOnlyMemory<byte> memory) =>
        TryUnwrap(MemoryMarshal.AsMemory(memory)) ?? new OwnershipMemory(MemoryMarshal.AsMemory(memory), ManagedKind.ReadOnly, null);

    private static OwnershipMemory? TryUnwrap(Memory<byte> memory) =>
        MemoryMarshal.TryGetMemoryManager<byte, OwnershipMemoryManager>(memory, out var manager, out var start, out var length)
            ? manager!.Owner.Slice(start, length)
            : null;

    /// <summary>Usable length in bytes.</summary>
    public int Length { get; private set; }

    /// <summary>True for managed memory lent through <see cref="FromMemory"/> or <see cref="FromReadOnlyMemory"/>.</summary>
    public bool IsManaged => _managedKind != ManagedKind.Native;

    /// <summary>True for memory the kernel may only read (<see cref="FromReadOnlyMemory"/>).</summary>
    public bool IsReadOnly => _managedKind == ManagedKind.ReadOnly;

    /// <summary>Alignment of the start of the root block.</summary>
    public int Alignment { get; }

    /// <summary>Current owner.</summary>
    public OwnershipState State => (OwnershipState)Volatile.Read(ref _state);

    /// <summary>True between a submission that borrowed this memory and that operation's CQE.</summary>
    public bool IsKernelOwned => State == OwnershipState.Kernel;

    /// <summary>True for a slice of another block.</summary>
    public bool IsSlice => _root is not null;

    /// <summary>The pool this block returns to, if any.</summary>
    public IOwnershipMemoryPool? Pool => _pool;

    /// <summary>The bytes. Throws while the kernel owns them.</summary>
    /// <exception cref="BufferBusyException">The kernel owns the memory (or its root, or one of its slices).</exception>
    /// <exception cref="ObjectDisposedException">The memory was released.</exception>
    public Span<byte> Span
    {
        get
        {
            EnsureUserAccess("access its Span");
            return _managedKind == ManagedKind.Native ? new Span<byte>(_pointer, Length) : ManagedSpan();
        }
    }

    private Span<byte> ManagedSpan() => _managedKind == ManagedKind.ReadOnly
        ? throw new InvalidOperationException("This OwnershipMemory lends read-only memory: read it through the ReadOnlyMemory<byte> it was made from.")
        : _managed.Span;

    /// <summary>Pins the managed memory for <see cref="OwnershipMemoryManager"/> (checked like <see cref="Span"/>).</summary>
    internal MemoryHandle PinManaged(int elementIndex)
    {
        var span = Span;
        if ((uint)elementIndex > (uint)span.Length)
            throw new ArgumentOutOfRangeException(nameof(elementIndex));
        return _managed[elementIndex..].Pin();
    }

    /// <summary>The bytes as <see cref="Memory{T}"/>; each span taken from it re-checks ownership.</summary>
    public Memory<byte> Memory
    {
        get
        {
            EnsureUserAccess("access its Memory");
            if (_managedKind == ManagedKind.ReadOnly)
                ManagedSpan(); // throws: read-only memory is not handed out as writable Memory<byte>
            _manager ??= new OwnershipMemoryManager(this);
            return _manager.Memory;
        }
    }

    /// <summary>Address of the first byte, for interop. No ownership check: the caller takes the responsibility.</summary>
    /// <exception cref="InvalidOperationException">Managed memory that no operation holds: it is not pinned, so it has no fixed address.</exception>
    public IntPtr DangerousGetPointer() =>
        _managedKind == ManagedKind.Native || _pointer != null
            ? (IntPtr)_pointer
            : throw new InvalidOperationException("This OwnershipMemory lends managed memory, which is pinned (and has a fixed address) only while an operation holds it.");

    internal byte* Pointer => _pointer;

    /// <summary>The façade released this memory after a failed or cancelled operation (a pool reads it in Return).</summary>
    internal bool IsReleasedByRing => _releasedByRing;

    /// <summary>A view of <paramref name="length"/> bytes starting at <paramref name="offset"/>.</summary>
    public OwnershipMemory Slice(int offset, int length)
    {
        EnsureUserAccess("slice it");
        if ((uint)offset > (uint)Length || (uint)length > (uint)(Length - offset))
            throw new ArgumentOutOfRangeException(nameof(length), $"Slice [{offset}, {offset}+{length}) is outside the {Length}-byte buffer.");
        var root = _root ?? this;
        return _managedKind == ManagedKind.Native
            ? new OwnershipMemory(_pointer + offset, length, 0, 1, null, root)
            : new OwnershipMemory(_managed.Slice(offset, length), _managedKind, root);
    }

    /// <summary>
    /// Frees the memory, returns it to its pool, or — for a slice — gives the slice up.
    /// </summary>
    /// <exception cref="BufferBusyException">The kernel owns the memory or one of its slices.</exception>
    /// <exception cref="ObjectDisposedException">Already released (a double dispose).</exception>
    public void Dispose()
    {
        var root = _root ?? this;
        lock (root)
        {
            var state = (OwnershipState)_state;
            switch (state)
            {
                case OwnershipState.Kernel:
                    if (_abandoned)
                        return; // released by the façade when the kernel is done (an abandoned wait)
                    throw Busy("dispose it");
                case OwnershipState.Released:
                case OwnershipState.Pooled:
                    if (_releasedByRing)
                    {
                        // The façade released it after a failed or cancelled operation; the
                        // owner's own Dispose (a using block) is then a no-op, once.
                        _releasedByRing = false;
                        return;
                    }
                    throw new ObjectDisposedException(nameof(OwnershipMemory), "This OwnershipMemory was already disposed (double dispose).");
            }
            if (_root is null && _lentSlices > 0)
                throw new BufferBusyException($"Cannot dispose this OwnershipMemory: {_lentSlices} of its slices are owned by the kernel until their operations complete.");
            if (_root is not null)
            {
                Volatile.Write(ref _state, (int)OwnershipState.Released);
                return;
            }
            if (_managedKind != ManagedKind.Native)
            {
                Volatile.Write(ref _state, (int)OwnershipState.Released);
                _managed = default; // the caller's memory is the caller's: just let go of it
                return;
            }
            if (_pool is not null)
            {
                Volatile.Write(ref _state, (int)OwnershipState.Pooled);
            }
            else
            {
                Volatile.Write(ref _state, (int)OwnershipState.Released);
                NativeMemoryStatistics.Free(_pointer, _allocationSize);
                _pointer = null;
                GC.SuppressFinalize(this);
                return;
            }
        }
        _pool!.Return(this);
    }

    /// <summary>For pool implementations: makes a <see cref="OwnershipState.Pooled"/> block usable again (contents are kept).</summary>
    public void ActivateFromPool()
    {
        if (Interlocked.CompareExchange(ref _state, (int)OwnershipState.User, (int)OwnershipState.Pooled) != (int)OwnershipState.Pooled)
            throw new InvalidOperationException($"ActivateFromPool needs a pooled block; this one is {State}.");
        _releasedByRing = false;
    }

    /// <summary>For pool implementations: frees a <see cref="OwnershipState.Pooled"/> block for good.</summary>
    public void FreeFromPool()
    {
        lock (this)
        {
            if (Interlocked.CompareExchange(ref _state, (int)OwnershipState.Released, (int)OwnershipState.Pooled) != (int)OwnershipState.Pooled)
                throw new InvalidOperationException($"FreeFromPool needs a pooled block; this one is {State}.");
            NativeMemoryStatistics.Free(_pointer, _allocationSize);
            _pointer = null;
            GC.SuppressFinalize(this);
        }
    }

    /// <summary>Moves ownership to the kernel for <paramref name="opcode"/>; throws if the program cannot lend it now.</summary>
    internal void TransferToKernel(io_uring_op opcode)
    {
        var root = _root ?? this;
        lock (root)
        {
            if (!CanLendLocked())
                EnsureUserAccessLocked("submit it to " + opcode); // throws the precise error
            if (_managedKind != ManagedKind.Native)
                PinForKernelLocked(opcode);

            if (_root is not null)
                root._lentSlices++;
            _borrower = opcode;
            _leases = 1;
            _releaseRequested = false;
            Volatile.Write(ref _state, (int)OwnershipState.Kernel);
        }
    }

    /// <summary>Another member of the same linked chain uses this (already lent) buffer: the
    /// buffer comes back only when the last of them has its CQE.</summary>
    internal void AddChainLease()
    {
        lock (_root ?? this)
        {
            Debug.Assert(_state == (int)OwnershipState.Kernel);
            _leases++;
        }
    }

    /// <summary>The CQE arrived: ownership goes back to the program (once every lease ended).</summary>
    internal void ReturnFromKernel() => EndLease(release: false);

    /// <summary>The CQE arrived but nobody will take the buffer back (error, cancel): release it
    /// — safe, because the kernel is done with it. With chain leases, the last CQE releases.</summary>
    internal void ReleaseAfterKernel() => EndLease(release: true);

    /// <summary>Ownership was taken for a submission that never reached the kernel: undo it.</summary>
    internal void RollbackTransfer() => EndLease(release: false);

    private void EndLease(bool release)
    {
        var root = _root ?? this;
        bool releaseNow;
        lock (root)
        {
            Debug.Assert(_state == (int)OwnershipState.Kernel);
            _releaseRequested |= release;
            if (--_leases > 0)
                return;
            if (_root is not null)
                root._lentSlices--;
            if (_managedKind != ManagedKind.Native)
                UnpinAfterKernelLocked();
            releaseNow = _releaseRequested;
            _releaseRequested = false;
            _abandoned = false;
            Volatile.Write(ref _state, (int)OwnershipState.User);
        }
        if (!releaseNow)
            return;
        var rootReleased = _root is not null && _root.State is OwnershipState.Released or OwnershipState.Pooled;
        if (!rootReleased && State == OwnershipState.User)
        {
            _releasedByRing = true; // before Dispose: a pooled block may be rented again at once
            Dispose();
        }
    }

    /// <summary>Registers the managed bytes as lent (refusing an overlap with another lend) and pins them.</summary>
    private void PinForKernelLocked(io_uring_op opcode)
    {
        // The generated operations refuse read-only memory where the kernel writes (the table's
        // readOnly); this also covers every other path that lends (batches, hand-written kinds).
        if (_managedKind == ManagedKind.ReadOnly && !KernelOnlyReads(opcode))
            throw new ArgumentException($"{opcode} may write into its buffer, and this OwnershipMemory lends read-only memory (FromReadOnlyMemory).");
        var key = ManagedLendRegistry.KeyOf(_managed, out var start);
        if (key is not null)
            ManagedLendRegistry.Register(key, start, Length, this, opcode);
        try
        {
            _pin = _managed.Pin();
        }
        catch
        {
            if (key is not null)
                ManagedLendRegistry.Unregister(key, start, this);
            throw;
        }
        _lendKey = key;
        _lendStart = start;
        _pointer = (byte*)_pin.Pointer;
    }

    private static bool KernelOnlyReads(io_uring_op opcode) => opcode is
        io_uring_op.IORING_OP_WRITE or io_uring_op.IORING_OP_WRITEV or io_uring_op.IORING_OP_WRITE_FIXED or
        io_uring_op.IORING_OP_WRITEV_FIXED or io_uring_op.IORING_OP_SEND or io_uring_op.IORING_OP_SENDMSG or
        io_uring_op.IORING_OP_SEND_ZC or io_uring_op.IORING_OP_SENDMSG_ZC;

    /// <summary>The kernel is done with the managed bytes: unpin and unregister them.</summary>
    private void UnpinAfterKernelLocked()
    {
        _pointer = null;
        _pin.Dispose();
        _pin = default;
        if (_lendKey is { } key)
        {
            ManagedLendRegistry.Unregister(key, _lendStart, this);
            _lendKey = null;
        }
    }

    /// <summary>
    /// Points a managed wrapper that nobody else holds at other memory (the adapters' per-operation
    /// reuse: a stream's read buffer, a pipe's next segment). It must be an unsliced managed root
    /// that no operation holds; a wrapper the façade released after a failed operation is revived.
    /// </summary>
    internal void Rebind(Memory<byte> memory, bool readOnly)
    {
        lock (this)
        {
            if (_managedKind == ManagedKind.Native || _root is not null)
                throw new InvalidOperationException("Only an unsliced managed OwnershipMemory can be rebound.");
            if ((OwnershipState)_state == OwnershipState.Kernel || _lentSlices > 0)
                throw Busy("rebind it");
            _managed = memory;
            _managedKind = readOnly ? ManagedKind.ReadOnly : ManagedKind.Writable;
            Length = memory.Length;
            _releasedByRing = false;
            Volatile.Write(ref _state, (int)OwnershipState.User);
        }
    }

    /// <summary>A fresh managed wrapper for <see cref="Rebind"/> (no unwrapping of OwnershipMemory's own memory).</summary>
    internal static OwnershipMemory CreateManaged(Memory<byte> memory, bool readOnly) =>
        new(memory, readOnly ? ManagedKind.ReadOnly : ManagedKind.Writable, null);

    /// <summary>
    /// Nobody will take this buffer back from the operation that holds it (its wait was abandoned):
    /// release it when the kernel is done instead. True when arranged (the kernel owns it now);
    /// false when it is not kernel-owned (the CQE already gave it back). Meanwhile the owner's
    /// <see cref="Dispose"/> is a no-op rather than <see cref="BufferBusyException"/>.
    /// </summary>
    internal bool ReleaseWhenReturned()
    {
        lock (_root ?? this)
        {
            if ((OwnershipState)_state != OwnershipState.Kernel)
                return false;
            _releaseRequested = true;
            _abandoned = true;
            return true;
        }
    }

    /// <summary>The kernel never answered for this buffer: keep it alive and allocated forever.</summary>
    internal void Quarantine()
    {
        lock (s_quarantined)
            s_quarantined.Add(_root ?? this);
    }

    private void EnsureUserAccess(string action)
    {
        var state = (OwnershipState)Volatile.Read(ref _state);
        if (state == OwnershipState.User && _root is null && Volatile.Read(ref _lentSlices) == 0)
            return; // fast path: an unsliced root the program owns
        lock (_root ?? this)
            EnsureUserAccessLocked(action);
    }

    private bool CanLendLocked() =>
        _state == (int)OwnershipState.User &&
        (_root is null ? _lentSlices == 0 : _root._state == (int)OwnershipState.User);

    private void EnsureUserAccessLocked(string action)
    {
        switch ((OwnershipState)_state)
        {
            case OwnershipState.Kernel:
                throw Busy(action);
            case OwnershipState.Released:
            case OwnershipState.Pooled:
                throw new ObjectDisposedException(nameof(OwnershipMemory), $"Cannot {action}: this OwnershipMemory was disposed{(_pool is null ? "" : " (returned to its pool)")}.");
        }
        if (_root is null)
        {
            if (_lentSlices > 0)
                throw new BufferBusyException($"Cannot {action}: {_lentSlices} slice(s) of this OwnershipMemory are owned by the kernel until their operations complete.");
        }
        else
        {
            switch ((OwnershipState)_root._state)
            {
                case OwnershipState.Kernel:
                    throw new BufferBusyException($"Cannot {action}: the block this slice belongs to is owned by the kernel ({_root._borrower} in flight).");
                case OwnershipState.Released:
                case OwnershipState.Pooled:
                    throw new ObjectDisposedException(nameof(OwnershipMemory), $"Cannot {action}: the block this slice belongs to was disposed.");
            }
        }
    }

    private BufferBusyException Busy(string action) =>
        new($"Cannot {action}: this OwnershipMemory is owned by the kernel ({_borrower} in flight); it comes back with the operation's result.");
}
