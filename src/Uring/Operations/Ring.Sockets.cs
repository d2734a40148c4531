using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Uring.Bindings;

namespace Uring;

// Socket operations, provided buffer rings, zero-copy send and the hooks the ring's loop calls
// for them (PrepareNetworkOperation, HandleMultiCompletion).
//
// The shared Operation descriptor is reused as follows by these opcodes:
//   Fd        socket (or, for SOCKET, the address family)
//   Buffer(s) data lent to the kernel;  Length  bytes (LISTEN: backlog)
//   OpFlags   MSG_* flags (SOCKET: the type)
//   Mode      SOCKET: protocol; SHUTDOWN: how; buffer-select RECV: buffer group; *_FIXED: registered buffer index
//   Path      a native copy of a sockaddr (BIND, CONNECT, SENDMSG destination), freed with the CQE
//   Offset    READ_FIXED/WRITE_FIXED: file offset; SEND_ZC: 1 when Mode is a registered buffer index
//   Offset2   SEND_ZC: the result of the send's own CQE, kept until the notification CQE
//   Scratch   ACCEPT: peer sockaddr at 0, its length at 128;  SENDMSG/RECVMSG: iovecs at 0,
//             sockaddr at 128, msghdr at 256
public sealed unsafe partial class Ring
{
    private const int ScratchAddressOffset = 128;
    private const int ScratchMsghdrOffset = 256;
    private const int MaxMessageBuffers = ScratchAddressOffset / 16;
    private const int ENOBUFS = 105;
    // Fails to compile (a negative constant converted to uint) if the per-slot scratch space
    // shrinks below what SENDMSG/RECVMSG lay out in it (msghdr is 56 bytes).
    private const uint ScratchFitsMessage = ScratchSize - (ScratchMsghdrOffset + 56);

    private readonly ConcurrentDictionary<ushort, BufferRing> _bufferRings = new();
    private int _nextBufferGroup = -1;
    private long _zeroCopySendCqes, _zeroCopyNotifications, _zeroCopyBufferHeldAtSendCqe;

    internal io_uring* NativeRing => _ring;

    internal bool ContinuationsRunAsynchronously => _options.RunContinuationsAsynchronously;

    /// <summary>True once the shutdown after <see cref="Dispose"/> has collected the CQEs and closed the ring.</summary>
    internal bool IsShutDown => Volatile.Read(ref _shutdownDone);

    /// <summary>Zero-copy sends whose first CQE (the send's result, with IORING_CQE_F_MORE) arrived.</summary>
    public long ZeroCopySendCompletions => Interlocked.Read(ref _zeroCopySendCqes);

    /// <summary>Zero-copy notification CQEs (IORING_CQE_F_NOTIF): the kernel released the buffer.</summary>
    public long ZeroCopyNotifications => Interlocked.Read(ref _zeroCopyNotifications);

    /// <summary>Zero-copy sends whose buffer was still owned by the kernel when the send's first CQE arrived (diagnostics for the ownership rule).</summary>
    public long ZeroCopyBuffersHeldPastSendCompletion => Interlocked.Read(ref _zeroCopyBufferHeldAtSendCqe);

    // -------------------------------------------------------------- owner-thread calls

    /// <summary>
    /// Runs <paramref name="action"/> on the thread that owns the ring (io_uring_register calls
    /// on an IORING_SETUP_SINGLE_ISSUER ring must come from it) and returns its result. On
    /// another thread it blocks until the owner ran it; a <see cref="RingThreading.CallerThread"/>
    /// ring must be driven meanwhile.
    /// </summary>
    internal IntPtr InvokeOnOwnerThread(Func<IntPtr> action)
    {
        if (IsShutDown)
            throw new RingDisposedException("The ring was disposed."); // its native ring is gone
        if (IsOwnerThread)
            return action();
        if (IsDisposed)
            throw new RingDisposedException("The ring was disposed.");
        var call = new OwnerThreadCall(this, action);
        Submit(call);
        return call.WaitResult();
    }

    // -------------------------------------------------------------- buffer rings

    /// <summary>
    /// Registers a provided buffer ring of <paramref name="count"/> buffers (a power of two,
    /// at most 32768) of <paramref name="bufferSize"/> bytes under a new buffer group.
    /// </summary>
    /// <exception cref="UringIOException">The kernel refused the registration.</exception>
    public BufferRing CreateBufferRing(int count, int bufferSize)
    {
        if (count <= 0 || count > 32768 || (count & (count - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(count), count, "A buffer ring holds a power of two between 1 and 32768 buffers.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferSize);
        if (IsDisposed)
            throw new RingDisposedException("Cannot create a buffer ring: the ring was disposed.");
        var group = Interlocked.Increment(ref _nextBufferGroup);
        if (group > ushort.MaxValue)
            throw new InvalidOperationException("All 65536 buffer group ids of this ring were used.");
        var ring = new BufferRing(this, (ushort)group, count, bufferSize);
        _bufferRings[(ushort)group] = ring;
        return ring;
    }

    internal void ForgetBufferRing(BufferRing ring) => _bufferRings.TryRemove(ring.GroupId, out _);

    private BufferRing FindBufferRing(ushort group) =>
        _bufferRings.TryGetValue(group, out var r) ? r : throw new InvalidOperationException($"Buffer group {group} is not registered with this ring.");

    // -------------------------------------------------------------- socket / bind / listen

    /// <summary>IORING_OP_SOCKET: a new socket (close-on-exec); the result is its fd.</summary>
    public CancelableFuture<int> Socket(AddressFamily family, SocketType type, ProtocolType protocol = ProtocolType.Unspecified, CancellationToken cancellationToken = default)
    {
        var op = Begin<int>(io_uring_op.IORING_OP_SOCKET, &ProduceInt);
        op.Fd = LinuxFamily(family);
        op.OpFlags = (uint)((int)type | SocketNative.SOCK_CLOEXEC);
        op.Mode = (uint)(protocol == ProtocolType.Unspecified ? 0 : (int)protocol);
        return Start(op, cancellationToken);
    }

    /// <summary>Binds <paramref name="fd"/> to <paramref name="endPoint"/>: IORING_OP_BIND where the
    /// kernel has it (6.11+), bind(2) otherwise (the future is then already complete).</summary>
    public CancelableFuture<int> Bind(int fd, IPEndPoint endPoint, CancellationToken cancellationToken = default)
    {
        CheckFd(fd);
        ArgumentNullException.ThrowIfNull(endPoint);
        SocketAddressCodec.SizeOf(endPoint); // refuses non-IP end points before anything is allocated
        if (!IsSupported(io_uring_op.IORING_OP_BIND))
        {
            Span<byte> sa = stackalloc byte[SocketAddressCodec.MaxSize];
            var n = SocketAddressCodec.Write(endPoint, sa);
            fixed (byte* p = sa)
                return Completed(io_uring_op.IORING_OP_BIND, SocketNative.Check(SocketNative.bind(fd, p, (uint)n)));
        }
        var op = Begin<int>(io_uring_op.IORING_OP_BIND, &ProduceInt);
        op.Fd = fd;
        op.Path = SocketAddressCodec.AllocateNative(endPoint, out op.PathSize);
        return Start(op, cancellationToken);
    }

    /// <summary>listen(2) on <paramref name="fd"/>: IORING_OP_LISTEN where the kernel has it (6.11+), the system call otherwise.</summary>
    public CancelableFuture<int> Listen(int fd, int backlog = 511, CancellationToken cancellationToken = default)
    {
        CheckFd(fd);
        ArgumentOutOfRangeException.ThrowIfNegative(backlog);
        if (!IsSupported(io_uring_op.IORING_OP_LISTEN))
            return Completed(io_uring_op.IORING_OP_LISTEN, SocketNative.Check(SocketNative.listen(fd, backlog)));
        var op = Begin<int>(io_uring_op.IORING_OP_LISTEN, &ProduceInt);
        op.Fd = fd;
        op.Length = (uint)backlog;
        return Start(op, cancellationToken);
    }

    // -------------------------------------------------------------- accept / connect / shutdown

    /// <summary>IORING_OP_ACCEPT (one shot): the accepted socket (close-on-exec) and the peer's address.</summary>
    public CancelableFuture<AcceptedSocket> Accept(int listenFd, CancellationToken cancellationToken = default)
    {
        CheckFd(listenFd, nameof(listenFd));
        var op = Begin<AcceptedSocket>(io_uring_op.IORING_OP_ACCEPT, &ProduceAccept);
        op.Fd = listenFd;
        return Start(op, cancellationToken);
    }

    /// <summary>IORING_OP_ACCEPT on a listening <see cref="System.Net.Sockets.Socket"/> (keep it open until the future completes).</summary>
    public CancelableFuture<AcceptedSocket> Accept(Socket listener, CancellationToken cancellationToken = default) => Accept(FdOf(listener), cancellationToken);

    /// <summary>IORING_OP_CONNECT to <paramref name="endPoint"/>; completes with 0 once connected.</summary>
    public CancelableFuture<int> Connect(int fd, IPEndPoint endPoint, CancellationToken cancellationToken = default)
    {
        CheckFd(fd);
        ArgumentNullException.ThrowIfNull(endPoint);
        SocketAddressCodec.SizeOf(endPoint); // refuses non-IP end points before anything is allocated
        var op = Begin<int>(io_uring_op.IORING_OP_CONNECT, &ProduceInt);
        op.Fd = fd;
        op.Path = SocketAddressCodec.AllocateNative(endPoint, out op.PathSize);
        return Start(op, cancellationToken);
    }

    /// <summary>IORING_OP_CONNECT on a <see cref="System.Net.Sockets.Socket"/>.</summary>
    public CancelableFuture<int> Connect(Socket socket, IPEndPoint endPoint, CancellationToken cancellationToken = default) => Connect(FdOf(socket), endPoint, cancellationToken);

    /// <summary>IORING_OP_SHUTDOWN (shutdown(2)).</summary>
    public CancelableFuture<int> Shutdown(int fd, SocketShutdown how, CancellationToken cancellationToken = default)
    {
        CheckFd(fd);
        var op = Begin<int>(io_uring_op.IORING_OP_SHUTDOWN, &ProduceInt);
        op.Fd = fd;
        op.Mode = (uint)how; // Receive = 0, Send = 1, Both = 2: the same values as SHUT_RD/WR/RDWR
        return Start(op, cancellationToken);
    }

    // -------------------------------------------------------------- send / recv

    /// <summary>IORING_OP_SEND of <paramref name="buffer"/> (or its first <paramref name="length"/> bytes). The result counts the bytes sent (possibly fewer).</summary>
    public CancelableFuture<BufferResult<OwnershipMemory>> Send(int fd, OwnershipMemory buffer, int length = -1, MessageFlags flags = MessageFlags.None, CancellationToken cancellationToken = default) =>
        Start(BuildSendRecv(io_uring_op.IORING_OP_SEND, fd, buffer, length, flags), cancellationToken);

    /// <summary>IORING_OP_SEND on a <see cref="System.Net.Sockets.Socket"/>.</summary>
    public CancelableFuture<BufferResult<OwnershipMemory>> Send(Socket socket, OwnershipMemory buffer, int length = -1, MessageFlags flags = MessageFlags.None, CancellationToken cancellationToken = default) =>
        Send(FdOf(socket), buffer, length, flags, cancellationToken);

    /// <summary>IORING_OP_RECV into <paramref name="buffer"/>; 0 bytes means the peer closed.</summary>
    public CancelableFuture<BufferResult<OwnershipMemory>> Receive(int fd, OwnershipMemory buffer, int length = -1, MessageFlags flags = MessageFlags.None, CancellationToken cancellationToken = default) =>
        Start(BuildSendRecv(io_uring_op.IORING_OP_RECV, fd, buffer, length, flags), cancellationToken);

    /// <summary>IORING_OP_RECV on a <see cref="System.Net.Sockets.Socket"/>.</summary>
    public CancelableFuture<BufferResult<OwnershipMemory>> Receive(Socket socket, OwnershipMemory buffer, int length = -1, MessageFlags flags = MessageFlags.None, CancellationToken cancellationToken = default) =>
        Receive(FdOf(socket), buffer, length, flags, cancellationToken);

    /// <summary>
    /// IORING_OP_RECV with IOSQE_BUFFER_SELECT: the kernel picks a buffer from
    /// <paramref name="bufferRing"/> only when data arrives, so while the connection is idle the
    /// pending receive holds no memory. Dispose the returned lease to give the buffer back.
    /// When the ring is empty the future fails with ENOBUFS (see <see cref="BufferRing"/>).
    /// </summary>
    public CancelableFuture<ProvidedBuffer> Receive(int fd, BufferRing bufferRing, MessageFlags flags = MessageFlags.None, CancellationToken cancellationToken = default)
    {
        CheckFd(fd);
        CheckBufferRing(bufferRing);
        var op = Begin<ProvidedBuffer>(io_uring_op.IORING_OP_RECV, &ProduceProvided);
        op.Fd = fd;
        op.Length = (uint)bufferRing.BufferSize;
        op.OpFlags = (uint)flags;
        op.Mode = bufferRing.GroupId;
        op.SqeFlags = (byte)Constants.IOSQE_BUFFER_SELECT;
        op.ProduceHandlesErrors = true;
        return Start(op, cancellationToken);
    }

    /// <summary>
    /// IORING_OP_SEND_ZC: sends without copying <paramref name="buffer"/> into the kernel. The
    /// kernel posts the send's result first and a notification CQE (IORING_CQE_F_NOTIF) once it
    /// no longer reads the buffer; the future completes — and the buffer comes back — only with
    /// the notification.
    /// </summary>
    public CancelableFuture<BufferResult<OwnershipMemory>> SendZeroCopy(int fd, OwnershipMemory buffer, int length = -1, MessageFlags flags = MessageFlags.None, CancellationToken cancellationToken = default) =>
        Start(BuildSendRecv(io_uring_op.IORING_OP_SEND_ZC, fd, buffer, length, flags), cancellationToken);

    internal Operation<BufferResult<OwnershipMemory>> BuildSendRecv(io_uring_op opcode, int fd, OwnershipMemory buffer, int length, MessageFlags flags)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        CheckFd(fd);
        if (length < 0)
            length = buffer.Length;
        else if (length > buffer.Length)
            throw new ArgumentException($"The buffer is too small: {opcode} of {length} bytes with a {buffer.Length}-byte buffer.", nameof(length));
        var op = Begin<BufferResult<OwnershipMemory>>(opcode, &ProduceBuffer);
        op.Fd = fd;
        op.Buffer = buffer;
        op.Length = (uint)length;
        op.OpFlags = (uint)(opcode == io_uring_op.IORING_OP_RECV ? flags : flags | MessageFlags.NoSignal);
        return op;
    }

    /// <summary>IORING_OP_SENDMSG: gathers up to 8 buffers into one message, to <paramref name="to"/> for an unconnected datagram socket.</summary>
    public CancelableFuture<BufferResult<OwnershipMemory[]>> SendMessage(int fd, OwnershipMemory[] buffers, IPEndPoint? to = null, MessageFlags flags = MessageFlags.None, CancellationToken cancellationToken = default)
    {
        if (to is not null)
            SocketAddressCodec.SizeOf(to); // refuses non-IP end points before anything is allocated
        var op = BuildMessage<BufferResult<OwnershipMemory[]>>(io_uring_op.IORING_OP_SENDMSG, fd, buffers, flags, &ProduceBuffers);
        if (to is not null)
            op.Path = SocketAddressCodec.AllocateNative(to, out op.PathSize);
        return Start(op, cancellationToken);
    }

    /// <summary>IORING_OP_RECVMSG: scatters one message into up to 8 buffers; reports the sender and the MSG_* flags.</summary>
    public CancelableFuture<ReceivedMessage> ReceiveMessage(int fd, OwnershipMemory[] buffers, MessageFlags flags = MessageFlags.None, CancellationToken cancellationToken = default) =>
        Start(BuildMessage<ReceivedMessage>(io_uring_op.IORING_OP_RECVMSG, fd, buffers, flags, &ProduceReceivedMessage), cancellationToken);

    private Operation<T> BuildMessage<T>(io_uring_op opcode, int fd, OwnershipMemory[] buffers, MessageFlags flags, delegate*<Operation, T> produce)
    {
        ArgumentNullException.ThrowIfNull(buffers);
        CheckFd(fd);
        CheckBufferList(opcode, buffers, MaxMessageBuffers);
        var op = Begin<T>(opcode, produce);
        op.Fd = fd;
        op.Buffers = buffers;
        op.OpFlags = (uint)(opcode == io_uring_op.IORING_OP_SENDMSG ? flags | MessageFlags.NoSignal : flags);
        return op;
    }

    // -------------------------------------------------------------- multishot

    /// <summary>
    /// Multishot accept (IORING_ACCEPT_MULTISHOT): one armed request yields every incoming
    /// connection's fd (close-on-exec; the consumer owns it). Re-armed when the kernel ends it
    /// (a CQE without IORING_CQE_F_MORE). Ends with <see cref="OperationCanceledException"/> when
    /// the enumerator's token is cancelled; breaking out of <c>await foreach</c> cancels the
    /// request and waits for its last CQE. Connections accepted but not consumed are closed.
    /// Shutting the listener down (shutdown(2)) ends the stream normally.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="listenFd"/> is not a listening socket.</exception>
    public IAsyncEnumerable<int> AcceptMultishot(int listenFd)
    {
        CheckFd(listenFd, nameof(listenFd));
        // Checked here so that a later EINVAL can only mean that the listener was shut down.
        if (!SocketNative.IsListening(listenFd))
            throw new ArgumentException($"fd {listenFd} is not a listening socket.", nameof(listenFd));
        if (!IsSupported(io_uring_op.IORING_OP_ACCEPT))
            throw new OpcodeNotSupportedException(io_uring_op.IORING_OP_ACCEPT, KernelRelease);
        return new MultishotEnumerable<int>(ct => new MultishotAccept(this, listenFd, ct));
    }

    /// <summary>
    /// Multishot receive (IORING_RECV_MULTISHOT) with buffers from <paramref name="bufferRing"/>:
    /// yields one lease per CQE until the peer closes (the stream then ends). Re-armed when the
    /// kernel ends it early; on ENOBUFS it re-arms once a lease is returned (see <see cref="BufferRing"/>).
    /// Dispose every lease. Leases received but not consumed when the enumeration stops are returned.
    /// </summary>
    public IAsyncEnumerable<ProvidedBuffer> ReceiveMultishot(int fd, BufferRing bufferRing, MessageFlags flags = MessageFlags.None)
    {
        CheckFd(fd);
        CheckBufferRing(bufferRing);
        if (!IsSupported(io_uring_op.IORING_OP_RECV))
            throw new OpcodeNotSupportedException(io_uring_op.IORING_OP_RECV, KernelRelease);
        return new MultishotEnumerable<ProvidedBuffer>(ct => new MultishotReceive(this, fd, bufferRing, (uint)flags, ct));
    }

    // -------------------------------------------------------------- hooks called by the loop (owner thread)

    /// <summary>Prepares an SQE for the operations of this file; false for an opcode it does not know.</summary>
    private bool PrepareNetworkOperation(io_uring_sqe* sqe, Operation op)
    {
        // This method's prologue may zero its frame with 256-bit stores; clear the upper AVX
        // state before liburing's SSE code runs (see VectorState).
        VectorState.ZeroUpper();
        switch (op.Opcode)
        {
            case io_uring_op.IORING_OP_LAST when op is OwnerThreadCall:
                Liburing.io_uring_prep_nop(sqe); // its callback runs when the CQE is dispatched
                return true;
            case io_uring_op.IORING_OP_ACCEPT or io_uring_op.IORING_OP_RECV when op is MultishotOperation multishot:
                multishot.PrepareSqe(sqe);
                return true;
            case io_uring_op.IORING_OP_SOCKET:
                Liburing.io_uring_prep_socket(sqe, op.Fd, (int)op.OpFlags, (int)op.Mode, 0);
                return true;
            case io_uring_op.IORING_OP_BIND:
                Liburing.io_uring_prep_bind(sqe, op.Fd, (sockaddr*)op.Path, (uint)op.PathSize);
                return true;
            case io_uring_op.IORING_OP_LISTEN:
                Liburing.io_uring_prep_listen(sqe, op.Fd, (int)op.Length);
                return true;
            case io_uring_op.IORING_OP_ACCEPT:
                *(uint*)(op.Scratch + ScratchAddressOffset) = SocketAddressCodec.MaxSize;
                Liburing.io_uring_prep_accept(sqe, op.Fd, (sockaddr*)op.Scratch, (uint*)(op.Scratch + ScratchAddressOffset), SocketNative.SOCK_CLOEXEC);
                return true;
            case io_uring_op.IORING_OP_CONNECT:
                Liburing.io_uring_prep_connect(sqe, op.Fd, (sockaddr*)op.Path, (uint)op.PathSize);
                return true;
            case io_uring_op.IORING_OP_SHUTDOWN:
                Liburing.io_uring_prep_shutdown(sqe, op.Fd, (int)op.Mode);
                return true;
            case io_uring_op.IORING_OP_SEND:
                Liburing.io_uring_prep_send(sqe, op.Fd, op.Buffer!.Pointer, op.Length, (int)op.OpFlags);
                return true;
            case io_uring_op.IORING_OP_RECV:
                if (op.Buffer is null)
                {
                    Liburing.io_uring_prep_recv(sqe, op.Fd, null, op.Length, (int)op.OpFlags);
                    Liburing.io_uring_sqe_set_buf_group(sqe, (int)op.Mode);
                }
                else
                {
                    Liburing.io_uring_prep_recv(sqe, op.Fd, op.Buffer.Pointer, op.Length, (int)op.OpFlags);
                }
                return true;
            case io_uring_op.IORING_OP_SEND_ZC:
                if (op.Offset != 0) // a registered buffer, index in Mode
                    Liburing.io_uring_prep_send_zc_fixed(sqe, op.Fd, op.Buffer!.Pointer, op.Length, (int)op.OpFlags, 0, op.Mode);
                else
                    Liburing.io_uring_prep_send_zc(sqe, op.Fd, op.Buffer!.Pointer, op.Length, (int)op.OpFlags, 0);
                return true;
            case io_uring_op.IORING_OP_SENDMSG:
            case io_uring_op.IORING_OP_RECVMSG:
            {
                var iov = (iovec*)op.Scratch;
                var buffers = op.Buffers!;
                for (var i = 0; i < buffers.Length; i++)
                {
                    iov[i].iov_base = buffers[i].Pointer;
                    iov[i].iov_len = (nuint)buffers[i].Length;
                }
                var msg = (msghdr*)(op.Scratch + ScratchMsghdrOffset);
                *msg = default;
                VectorState.ZeroUpper(); // the struct store above may be a 256-bit one
                msg->msg_iov = iov;
                msg->msg_iovlen = (nuint)buffers.Length;
                if (op.Opcode == io_uring_op.IORING_OP_SENDMSG)
                {
                    if (op.Path != null)
                    {
                        Buffer.MemoryCopy(op.Path, op.Scratch + ScratchAddressOffset, SocketAddressCodec.MaxSize, (long)op.PathSize);
                        msg->msg_name = op.Scratch + ScratchAddressOffset;
                        msg->msg_namelen = (uint)op.PathSize;
                    }
                    Liburing.io_uring_prep_sendmsg(sqe, op.Fd, msg, op.OpFlags);
                }
                else
                {
                    msg->msg_name = op.Scratch + ScratchAddressOffset;
                    msg->msg_namelen = SocketAddressCodec.MaxSize;
                    Liburing.io_uring_prep_recvmsg(sqe, op.Fd, msg, op.OpFlags);
                }
                return true;
            }
            case io_uring_op.IORING_OP_READ_FIXED:
                Liburing.io_uring_prep_read_fixed(sqe, op.Fd, op.Buffer!.Pointer, op.Length, op.Offset, (int)op.Mode);
                return true;
            case io_uring_op.IORING_OP_WRITE_FIXED:
                Liburing.io_uring_prep_write_fixed(sqe, op.Fd, op.Buffer!.Pointer, op.Length, op.Offset, (int)op.Mode);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// A CQE with IORING_CQE_F_MORE or IORING_CQE_F_NOTIF. True when the operation stays in
    /// the kernel (more CQEs follow); false to retire it as usual, with <paramref name="res"/>.
    /// </summary>
    private bool HandleMultiCompletion(Operation op, ref int res, uint flags)
    {
        if (op.Opcode != io_uring_op.IORING_OP_SEND_ZC)
        {
            if ((flags & Constants.IORING_CQE_F_MORE) == 0 || op is not MultishotOperation multishot)
                return false;
            multishot.OnIntermediateCompletion(res, flags);
            return true;
        }
        if ((flags & Constants.IORING_CQE_F_MORE) != 0)
        {
            // The send's own result: the kernel may still read the buffer until the notification.
            op.Offset2 = (uint)res;
            _zeroCopySendCqes++;
            if (op.Buffer is { IsKernelOwned: true })
                _zeroCopyBufferHeldAtSendCqe++;
            return true;
        }
        if ((flags & Constants.IORING_CQE_F_NOTIF) != 0)
        {
            _zeroCopyNotifications++;
            res = (int)(uint)op.Offset2; // the future reports the send's result, now that the buffer is free
        }
        return false;
    }

    // -------------------------------------------------------------- helpers

    /// <summary>The fd of a <see cref="System.Net.Sockets.Socket"/>; the socket must stay open while operations use it.</summary>
    public static int FdOf(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return (int)socket.SafeHandle.DangerousGetHandle();
    }

    private void CheckBufferRing(BufferRing bufferRing)
    {
        ArgumentNullException.ThrowIfNull(bufferRing);
        if (!ReferenceEquals(bufferRing.Ring, this))
            throw new ArgumentException("The buffer ring belongs to another Ring.", nameof(bufferRing));
        if (!_bufferRings.ContainsKey(bufferRing.GroupId))
            throw new ObjectDisposedException(nameof(BufferRing), "The buffer ring was disposed.");
    }

    private static int LinuxFamily(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => SocketAddressCodec.AF_INET,
        AddressFamily.InterNetworkV6 => SocketAddressCodec.AF_INET6,
        AddressFamily.Unix => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, "Supported families: InterNetwork, InterNetworkV6, Unix."),
    };

    /// <summary>A future that is already complete with <paramref name="res"/> (a system call made instead of an opcode).</summary>
    private CancelableFuture<int> Completed(io_uring_op opcode, int res)
    {
        var op = Operation<int>.Rent(this, opcode, &ProduceInt, _options.RunContinuationsAsynchronously, onOwnerThread: false);
        var future = new CancelableFuture<int>(op, op.Version);
        op.Complete(res, 0);
        return future;
    }

    private static AcceptedSocket ProduceAccept(Operation op)
    {
        var length = (int)Math.Min(*(uint*)(op.Scratch + ScratchAddressOffset), SocketAddressCodec.MaxSize);
        return new AcceptedSocket(op.Res, SocketAddressCodec.Read(new ReadOnlySpan<byte>(op.Scratch, length)));
    }

    private static ProvidedBuffer ProduceProvided(Operation op)
    {
        var ring = op.Ring.FindBufferRing((ushort)op.Mode);
        if (op.Res < 0)
        {
            if (op.Res == -ENOBUFS)
                ring.NoteEnobufs();
            throw op.Ring.MapError(op, op.Res);
        }
        if ((op.CqeFlags & Constants.IORING_CQE_F_BUFFER) == 0)
            return default; // end of stream: the kernel picked no buffer
        return ring.Take((ushort)(op.CqeFlags >> Constants.IORING_CQE_BUFFER_SHIFT), op.Res);
    }

    private static ReceivedMessage ProduceReceivedMessage(Operation op)
    {
        var msg = (msghdr*)(op.Scratch + ScratchMsghdrOffset);
        var length = (int)Math.Min(msg->msg_namelen, SocketAddressCodec.MaxSize);
        var from = SocketAddressCodec.Read(new ReadOnlySpan<byte>(op.Scratch + ScratchAddressOffset, length));
        return new ReceivedMessage(op.Res, op.Buffers!, from, (MessageFlags)msg->msg_flags);
    }
}

/// <summary>A connection accepted by <see cref="Ring.Accept(int, CancellationToken)"/>: its fd (the caller closes it) and the peer's address.</summary>
public readonly record struct AcceptedSocket(int Fd, IPEndPoint? RemoteEndPoint);

/// <summary>The outcome of <see cref="Ring.ReceiveMessage"/>: bytes, the buffers (owned by the caller again), the sender, and the MSG_* flags the kernel set (e.g. Truncated).</summary>
public readonly record struct ReceivedMessage(int BytesTransferred, OwnershipMemory[] Buffers, IPEndPoint? RemoteEndPoint, MessageFlags Flags);
