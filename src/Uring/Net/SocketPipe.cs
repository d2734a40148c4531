using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Uring.Bindings;

namespace Uring;

/// <summary>
/// A connected stream socket as an <see cref="IDuplexPipe"/>, driven by a <see cref="Ring"/>:
/// <see cref="Input"/> is what the peer sent, <see cref="Output"/> what to send to it.
/// </summary>
/// <remarks>
/// <para><b>Receiving.</b> By default each receive (IORING_OP_RECV) goes straight into the input
/// pipe's memory — no copy — which is lent to the kernel until the receive's CQE. With
/// <see cref="SocketPipeOptions.ReceiveBuffers"/>, the kernel picks a buffer from a provided buffer
/// ring only when data arrives, and the bytes are copied into the pipe; an idle connection then holds
/// no memory. Either way one receive is in flight at a time and the next is posted only after the
/// input pipe has room (<see cref="PipeOptions.PauseWriterThreshold"/>): a slow reader leaves the data
/// in the kernel and TCP flow control slows the peer, so memory stays bounded per connection.</para>
/// <para><b>Sending.</b> Each read of the output pipe is sent without copying: one segment with
/// IORING_OP_SEND, several (up to 8 at a time) with IORING_OP_SENDMSG; partial sends continue where
/// they stopped.</para>
/// <para><b>Ending.</b>
/// The peer's FIN completes <see cref="Input"/>; its reset or another error completes
/// <see cref="Input"/> with that error (<see cref="UringIOException"/>, e.g. ECONNRESET), and a send
/// that fails completes the output's reader with it, so the writer's next FlushAsync throws it.
/// <c>Output.Complete()</c> sends what was written, then shuts the socket down for sending (the peer
/// reads end of stream; receiving goes on). <c>Input.Complete()</c> stops receiving: the pending
/// receive is cancelled in the kernel. <c>Output.Complete(exception)</c> and <see cref="Abort"/> reset
/// the connection. <see cref="DisposeAsync"/> completes both pipes, lets the output drain (bounded by
/// <see cref="SocketPipeOptions.CloseTimeout"/>), waits until the kernel is done with every buffer,
/// and closes the socket if the pipe owns it.</para>
/// </remarks>
public sealed class SocketPipe : IDuplexPipe, IAsyncDisposable
{
    private const int MaxSendSegments = 8;

    private readonly Ring _ring;
    private readonly FileDescriptor _socket;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly InputReader _inputReader;
    private readonly BufferRing? _receiveBuffers;
    private readonly int _minimumReceiveSize;
    private readonly bool _ownsSocket;
    private readonly TimeSpan _closeTimeout;
    private readonly CancellationTokenSource _stopReceiving = new();
    private readonly CancellationTokenSource _stopSending = new();
    private readonly OwnershipMemory _receiveWrapper = OwnershipMemory.CreateManaged(Memory<byte>.Empty, readOnly: false);
    private readonly OwnershipMemory[][] _sendVectors = new OwnershipMemory[MaxSendSegments][];
    private readonly Task _receiving;
    private readonly Task _sending;
    private readonly Task _completion;
    private Exception? _abortReason;
    private int _disposed;

    /// <summary>Starts receiving from and sending to <paramref name="socket"/> (a connected stream socket).</summary>
    /// <param name="ring">The ring that performs the receives and sends.</param>
    /// <param name="socket">An fd, a <see cref="Socket"/> or its handle (referenced while operations use it), or a registered file.</param>
    /// <param name="options">Buffering, receive mode, ownership; null for the defaults.</param>
    /// <exception cref="ArgumentException">A provided buffer ring of another ring, or a bad option.</exception>
    public SocketPipe(Ring ring, FileDescriptor socket, SocketPipeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(ring);
        options ??= new SocketPipeOptions();
        socket.Check(nameof(socket));
        if (options.ReceiveBuffers is { } buffers && !ReferenceEquals(buffers.Ring, ring))
            throw new ArgumentException("The provided buffer ring belongs to another ring.", nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MinimumReceiveSize);
        if (options.CloseTimeout < TimeSpan.Zero && options.CloseTimeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(options), options.CloseTimeout, "CloseTimeout cannot be negative.");
        _ring = ring;
        _socket = socket;
        _receiveBuffers = options.ReceiveBuffers;
        _minimumReceiveSize = options.MinimumReceiveSize;
        _ownsSocket = options.OwnsSocket && !socket.IsRegistered;
        _closeTimeout = options.CloseTimeout;
        _input = new Pipe(options.InputOptions ?? SocketPipeOptions.DefaultPipeOptions);
        _output = new Pipe(options.OutputOptions ?? SocketPipeOptions.DefaultPipeOptions);
        _inputReader = new InputReader(this, _input.Reader);

        var sendWrappers = new OwnershipMemory[MaxSendSegments];
        for (var i = 0; i < sendWrappers.Length; i++)
            sendWrappers[i] = OwnershipMemory.CreateManaged(Memory<byte>.Empty, readOnly: true);
        for (var k = 1; k <= MaxSendSegments; k++)
            _sendVectors[k - 1] = sendWrappers[..k];

        _receiving = ReceiveLoop();
        _sending = SendLoop();
        _completion = FinishAsync();
    }

    /// <summary>The data received from the peer.</summary>
    public PipeReader Input => _inputReader;

    /// <summary>The data to send to the peer.</summary>
    public PipeWriter Output => _output.Writer;

    /// <summary>The ring that performs the receives and sends.</summary>
    public Ring Ring => _ring;

    /// <summary>
    /// Completes when receiving and sending have both ended (the peer's FIN or an error on the
    /// input side; the output completed and sent, or an error) and the socket, if owned, is closed.
    /// Never faults: the pipes carry the errors.
    /// </summary>
    public Task Completion => _completion;

    /// <summary>
    /// Completes when receiving has ended — the peer's FIN, a receive error, <c>Input.Complete()</c>,
    /// <see cref="Abort"/> or <see cref="DisposeAsync"/> — and <see cref="Input"/>'s writer is completed,
    /// even while the application has not read what is left. Never faults.
    /// </summary>
    public Task ReceiveCompletion => _receiving;

    /// <summary>
    /// Resets the connection: both directions stop at once (their pending operations are cancelled
    /// in the kernel); <see cref="Input"/>'s reader and <see cref="Output"/>'s writer see
    /// <paramref name="reason"/> (an <see cref="IOException"/> when null); an owned socket is closed
    /// with a reset (RST) instead of a FIN. Idempotent.
    /// </summary>
    public void Abort(Exception? reason = null)
    {
        var error = reason ?? new IOException("The connection was aborted.");
        if (Interlocked.CompareExchange(ref _abortReason, error, null) is not null)
            return;
        if (_ownsSocket && !_completion.IsCompleted)
            WithDescriptor(fd => SocketNative.SetResetOnClose(fd));
        Stop(_stopSending);
        Stop(_stopReceiving);
    }

    /// <summary>
    /// Completes <see cref="Output"/> (what was written is still sent, for at most
    /// <see cref="SocketPipeOptions.CloseTimeout"/>) and <see cref="Input"/> (the pending receive is
    /// cancelled), waits until the kernel has finished with every buffer, and closes the socket if
    /// owned. Call it when the application no longer uses either pipe.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _output.Writer.Complete();
            _inputReader.Complete();
            if (!_sending.IsCompleted && _closeTimeout != Timeout.InfiniteTimeSpan)
            {
                try
                {
                    _stopSending.CancelAfter(_closeTimeout);
                }
                catch (ObjectDisposedException)
                {
                    // sending has ended meanwhile
                }
            }
        }
        await _completion.ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ receiving

    private async Task ReceiveLoop()
    {
        var writer = _input.Writer;
        Exception? error = null;
        try
        {
            var token = _stopReceiving.Token;
            while (!token.IsCancellationRequested)
            {
                if (_receiveBuffers is null)
                {
                    var memory = writer.GetMemory(_minimumReceiveSize);
                    _receiveWrapper.Rebind(memory, readOnly: false);
                    var (n, _) = await _ring.Receive(_socket, _receiveWrapper, cancellationToken: token).ConfigureAwait(false);
                    if (n == 0)
                        break; // the peer's FIN
                    writer.Advance(n);
                }
                else
                {
                    var lease = await ReceiveProvided(_receiveBuffers, token).ConfigureAwait(false);
                    if (lease.IsEndOfStream)
                        break;
                    try
                    {
                        writer.Write(lease.Span);
                    }
                    finally
                    {
                        lease.Dispose();
                    }
                }
                // Backpressure: waits while the reader has PauseWriterThreshold bytes unread.
                var flush = await writer.FlushAsync(token).ConfigureAwait(false);
                if (flush.IsCompleted)
                    break; // the reader completed
            }
        }
        catch (OperationCanceledException) when (_stopReceiving.IsCancellationRequested)
        {
            // stopped by Input.Complete, DisposeAsync or Abort
        }
        catch (Exception e)
        {
            error = e;
        }
        error ??= Volatile.Read(ref _abortReason);
        await writer.CompleteAsync(error).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // one per receive: no allocation when it waits
    private async ValueTask<ProvidedBuffer> ReceiveProvided(BufferRing buffers, CancellationToken token)
    {
        while (true)
        {
            try
            {
                return await _ring.ReceiveProvided(_socket, buffers, cancellationToken: token).ConfigureAwait(false);
            }
            catch (UringIOException e) when (e.Errno == LinuxErrno.ENOBUFS)
            {
                // Every buffer of the ring is leased; the data waits in the socket meanwhile.
                await WaitForBuffer(buffers, token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Completes when a buffer is back in <paramref name="buffers"/> (at once if one is). The
    /// continuation runs on the thread that returned the buffer — the ring's loop thread when, as
    /// here, leases are returned by receive loops — so the receive loop never moves to another thread.
    /// </summary>
    private static Task WaitForBuffer(BufferRing buffers, CancellationToken token)
    {
        var returned = new TaskCompletionSource();
        if (!buffers.WhenBufferReturned(() => returned.TrySetResult()))
            return Task.CompletedTask;
        if (token.CanBeCanceled)
        {
            var registration = token.UnsafeRegister(static (state, t) => ((TaskCompletionSource)state!).TrySetCanceled(t), returned);
            returned.Task.ContinueWith(static (_, r) => ((CancellationTokenRegistration)r!).Unregister(), registration,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        return returned.Task;
    }

    /// <summary><c>Input.Complete()</c>: the application reads no more; cancel the pending receive.</summary>
    private void StopReceiving() => Stop(_stopReceiving);

    private static void Stop(CancellationTokenSource source)
    {
        try
        {
            source.Cancel(); // the pending operation's token registration asks the kernel to cancel it
        }
        catch (ObjectDisposedException)
        {
            // that loop has ended already
        }
    }

    // ------------------------------------------------------------------ sending

    private async Task SendLoop()
    {
        var reader = _output.Reader;
        var token = _stopSending.Token;
        Exception? error = null;
        var drained = false;
        try
        {
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await reader.ReadAsync(token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    // The application completed Output with an exception: it failed, so the connection is reset.
                    Abort(e);
                    throw;
                }
                var buffer = result.Buffer;
                try
                {
                    while (!buffer.IsEmpty)
                        buffer = buffer.Slice(await SendSome(buffer, token).ConfigureAwait(false));
                }
                finally
                {
                    reader.AdvanceTo(buffer.Start);
                }
                if (result.IsCompleted)
                {
                    drained = true;
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            error = Volatile.Read(ref _abortReason) ?? new IOException($"The output was not sent within the close timeout ({_closeTimeout}).");
        }
        catch (Exception e)
        {
            error = e;
        }
        await reader.CompleteAsync(error).ConfigureAwait(false);
        if (drained && Volatile.Read(ref _abortReason) is null)
        {
            try
            {
                await _ring.Shutdown(_socket, SocketShutdown.Send).ConfigureAwait(false); // FIN: the peer reads end of stream
            }
            catch (Exception)
            {
                // the peer is gone already (ENOTCONN) or the ring is shutting down
            }
        }
    }

    /// <summary>Sends the start of <paramref name="buffer"/> without copying; returns the bytes sent.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // one per send: no allocation when it waits
    private async ValueTask<int> SendSome(ReadOnlySequence<byte> buffer, CancellationToken token)
    {
        int sent;
        if (buffer.IsSingleSegment)
        {
            var wrapper = _sendVectors[0][0];
            wrapper.Rebind(MemoryMarshal.AsMemory(buffer.First), readOnly: true);
            (sent, _) = await _ring.Send(_socket, wrapper, cancellationToken: token).ConfigureAwait(false);
        }
        else
        {
            var count = 0;
            var all = _sendVectors[MaxSendSegments - 1];
            foreach (var segment in buffer)
            {
                if (segment.IsEmpty)
                    continue;
                all[count++].Rebind(MemoryMarshal.AsMemory(segment), readOnly: true);
                if (count == MaxSendSegments)
                    break;
            }
            (sent, _) = await _ring.SendMessage(_socket, _sendVectors[count - 1], cancellationToken: token).ConfigureAwait(false);
        }
        if (sent <= 0)
            throw new IOException($"The socket accepted none of {buffer.Length} bytes.");
        return sent;
    }

    // ------------------------------------------------------------------ the end

    private async Task FinishAsync()
    {
        await Task.WhenAll(_receiving, _sending).ConfigureAwait(false);
        if (_ownsSocket)
        {
            if (_socket.Handle is { } handle)
                handle.Dispose();
            else
                WithDescriptor(fd => LibC.close(fd));
        }
        _stopReceiving.Dispose();
        _stopSending.Dispose();
    }

    private void WithDescriptor(Func<int, int> action)
    {
        byte flags = 0;
        SafeHandle? reference = null;
        try
        {
            action(_socket.Acquire(_ring, ref flags, ref reference, "socket"));
        }
        catch (ObjectDisposedException)
        {
            // the handle was closed already
        }
        finally
        {
            FileDescriptor.Release(ref reference);
        }
    }

    /// <summary>The application's side of the input pipe; completing it stops the receives.</summary>
    private sealed class InputReader(SocketPipe owner, PipeReader inner) : PipeReader
    {
        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null)
        {
            inner.Complete(exception);
            owner.StopReceiving();
        }

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) => inner.ReadAsync(cancellationToken);

        public override bool TryRead(out ReadResult result) => inner.TryRead(out result);

        protected override ValueTask<ReadResult> ReadAtLeastAsyncCore(int minimumSize, CancellationToken cancellationToken) =>
            inner.ReadAtLeastAsync(minimumSize, cancellationToken);

        public override Task CopyToAsync(PipeWriter destination, CancellationToken cancellationToken = default) =>
            inner.CopyToAsync(destination, cancellationToken);

        public override Task CopyToAsync(Stream destination, CancellationToken cancellationToken = default) =>
            inner.CopyToAsync(destination, cancellationToken);
    }
}
