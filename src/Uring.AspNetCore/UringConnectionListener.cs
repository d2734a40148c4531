using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Uring.AspNetCore;

/// <summary>
/// A listening socket with a multishot accept armed on every ring of the transport. Accepted
/// descriptors queue (with the ring that accepted them) until Kestrel asks for the next connection.
/// </summary>
internal sealed class UringConnectionListener : IConnectionListener
{
    private static readonly AcceptBackoff AcceptBackoff = new() { Initial = TimeSpan.FromMilliseconds(10), Maximum = TimeSpan.FromMilliseconds(500) };

    private readonly UringTransportFactory _factory;
    private readonly RingGroup _rings;
    private readonly UringTransportOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<(int Fd, int Ring)> _accepted =
        Channel.CreateUnbounded<(int, int)>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });
    private readonly CancellationTokenSource _unbind = new();
    private readonly Task[] _acceptLoops;
    private int _listenFd;
    private int _disposed;

    public UringConnectionListener(UringTransportFactory factory, RingGroup rings, int listenFd, IPEndPoint endPoint,
        UringTransportOptions options, ILogger logger)
    {
        _factory = factory;
        _rings = rings;
        _listenFd = listenFd;
        EndPoint = endPoint;
        _options = options;
        _logger = logger;
        _acceptLoops = new Task[rings.Count];
    }

    public EndPoint EndPoint { get; }

    public void Start()
    {
        for (var i = 0; i < _acceptLoops.Length; i++)
            _acceptLoops[i] = AcceptLoop(i);
    }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        var reader = _accepted.Reader;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (reader.TryRead(out var accepted))
                return UringConnection.Create(accepted.Fd, _rings[accepted.Ring], _rings.BuffersOf(accepted.Ring), _rings.SendSchedulerOf(accepted.Ring), _options);
        }
        return null; // unbound
    }

    /// <summary>Stops accepting: the multishot accepts are cancelled and the listening socket is closed.</summary>
    public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _unbind.Cancel();
        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        var fd = Interlocked.Exchange(ref _listenFd, -1);
        if (fd >= 0)
            NetSocket.Close(fd);
        _accepted.Writer.TryComplete();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await UnbindAsync().ConfigureAwait(false);
        while (_accepted.Reader.TryRead(out var left))
            NetSocket.Close(left.Fd); // accepted, never handed to Kestrel
        _unbind.Dispose();
        _factory.ReleaseRings();
    }

    private async Task AcceptLoop(int index)
    {
        var ring = _rings[index];
        var token = _unbind.Token;
        try
        {
            await ring.SwitchToOwnerThread();
            // Out of descriptors or memory, accepting pauses (a back-off on the ring) until connections close.
            var accept = ring.AcceptMultishotResilient(_listenFd, AcceptBackoff);
            accept.Paused += LogAcceptPause;
            accept.RetryFailed += LogAcceptPause;
            await foreach (var fd in accept.WithCancellation(token))
            {
                if (!_accepted.Writer.TryWrite((fd, index)))
                    NetSocket.Close(fd);
            }
            // the listening socket was shut down
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (RingDisposedException)
        {
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Accepting on {EndPoint} failed.", EndPoint);
        }
    }

    private void LogAcceptPause(object? sender, AcceptPauseEventArgs e) =>
        _logger.LogWarning("Accepting on {EndPoint} paused for {Backoff} ms: {Error}", EndPoint, e.Backoff.TotalMilliseconds, e.Error.Message);
}
