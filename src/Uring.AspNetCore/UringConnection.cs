using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Uring.AspNetCore;

/// <summary>
/// One accepted TCP connection for Kestrel: its <see cref="Transport"/> is a <see cref="SocketPipe"/>
/// on the ring that accepted it. <see cref="ConnectionClosed"/> fires when receiving ends (the peer's
/// FIN or reset, or an abort), as with the Sockets transport; disposing sends what was written
/// (bounded by <see cref="UringTransportOptions.CloseTimeout"/>), closes the socket, and then tells
/// the listener that a descriptor is free (an accept paused for want of one tries again).
/// </summary>
internal sealed class UringConnection : ConnectionContext,
    IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IConnectionLifetimeFeature,
    IConnectionEndPointFeature, IMemoryPoolFeature
{
    private static long s_lastId;

    private readonly SocketPipe _pipe;
    private readonly CancellationTokenSource _closed = new();
    private readonly FeatureCollection _features = new(6);
    private readonly Task _closedFired;
    private string? _id;
    private IDictionary<object, object?>? _items;
    private IDuplexPipe _transport;
    private Action? _socketClosed;

    private UringConnection(SocketPipe pipe, IPEndPoint? local, IPEndPoint? remote, Action? socketClosed)
    {
        _pipe = pipe;
        _socketClosed = socketClosed;
        _transport = pipe;
        LocalEndPoint = local;
        RemoteEndPoint = remote;
        _features.Set<IConnectionIdFeature>(this);
        _features.Set<IConnectionTransportFeature>(this);
        _features.Set<IConnectionItemsFeature>(this);
        _features.Set<IConnectionLifetimeFeature>(this);
        _features.Set<IConnectionEndPointFeature>(this);
        _features.Set<IMemoryPoolFeature>(this);
        _closedFired = FireClosedWhenReceivingEnds();
    }

    /// <summary>Wraps an accepted socket; on failure the socket is closed. <paramref name="socketClosed"/>
    /// is called, on any thread, once the socket has been closed (by <see cref="DisposeAsync"/> or that failure).</summary>
    public static UringConnection Create(int fd, Ring ring, BufferRing? receiveBuffers, PipeScheduler sendScheduler, UringTransportOptions options,
        Action? socketClosed)
    {
        IPEndPoint? local = null, remote = null;
        try
        {
            if (options.NoDelay)
                NetSocket.SetNoDelay(fd);
            local = NetSocket.GetLocalEndPoint(fd);
            remote = NetSocket.GetRemoteEndPoint(fd);
        }
        catch (UringIOException)
        {
            // the peer is gone already (ENOTCONN): the first receive reports it
        }
        SocketPipe pipe;
        try
        {
            pipe = new SocketPipe(ring, fd, PipeOptionsFor(options, receiveBuffers, sendScheduler));
        }
        catch
        {
            NetSocket.Close(fd);
            socketClosed?.Invoke();
            throw;
        }
        return new UringConnection(pipe, local, remote, socketClosed);
    }

    public override string ConnectionId
    {
        get => _id ??= $"uring-{Interlocked.Increment(ref s_lastId):x}";
        set => _id = value;
    }

    public override IFeatureCollection Features => _features;

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    public override IDuplexPipe Transport
    {
        get => _transport;
        set => _transport = value;
    }

    public override CancellationToken ConnectionClosed
    {
        get => _closed.Token;
        set => throw new NotSupportedException("The transport owns the connection-closed token.");
    }

    public override EndPoint? LocalEndPoint { get; set; }

    public override EndPoint? RemoteEndPoint { get; set; }

    public MemoryPool<byte> MemoryPool => PinnedBlockPool.Default;

    /// <summary>Resets the connection (RST); Kestrel's reads and writes see <paramref name="abortReason"/>.</summary>
    public override void Abort(ConnectionAbortedException abortReason) => _pipe.Abort(abortReason);

    public override void Abort() => Abort(new ConnectionAbortedException("The connection was aborted by the application."));

    /// <summary>Ends both directions (what was written is still sent), then closes the socket.</summary>
    public override async ValueTask DisposeAsync()
    {
        await _pipe.DisposeAsync().ConfigureAwait(false); // the socket is closed when it completes
        Interlocked.Exchange(ref _socketClosed, null)?.Invoke();
        await _closedFired.ConfigureAwait(false);
    }

    private async Task FireClosedWhenReceivingEnds()
    {
        // Token callbacks (Kestrel aborts the request in them) run on the thread pool, not inside the
        // ring's receive loop.
        await _pipe.ReceiveCompletion.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
        _closed.Cancel();
    }

    private static SocketPipeOptions PipeOptionsFor(UringTransportOptions options, BufferRing? receiveBuffers, PipeScheduler sendScheduler)
    {
        var onRing = options.ApplicationScheduling == UringApplicationScheduling.RingThread;
        var application = onRing ? PipeScheduler.Inline : PipeScheduler.ThreadPool;
        return new SocketPipeOptions
        {
            // Received data: written by the ring's receive loop, read by Kestrel.
            InputOptions = new PipeOptions(
                pool: PinnedBlockPool.Default,
                readerScheduler: application,
                writerScheduler: PipeScheduler.Inline,
                pauseWriterThreshold: options.MaxReadBufferSize ?? 0,
                resumeWriterThreshold: options.MaxReadBufferSize / 2 ?? 0,
                minimumSegmentSize: PinnedBlockPool.DefaultBlockSize,
                useSynchronizationContext: false),
            // Responses: written by Kestrel, read by the send loop once per loop turn (RingSendScheduler),
            // which puts the send straight into the submission queue.
            OutputOptions = new PipeOptions(
                pool: PinnedBlockPool.Default,
                readerScheduler: sendScheduler,
                writerScheduler: application,
                pauseWriterThreshold: options.MaxWriteBufferSize ?? 0,
                resumeWriterThreshold: options.MaxWriteBufferSize / 2 ?? 0,
                minimumSegmentSize: PinnedBlockPool.DefaultBlockSize,
                useSynchronizationContext: false),
            ReceiveBuffers = receiveBuffers,
            CloseTimeout = options.CloseTimeout,
            OwnsSocket = true,
        };
    }
}
