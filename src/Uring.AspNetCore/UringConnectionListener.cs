using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Uring.AspNetCore;

/// <summary>
/// A listening socket with a multishot accept armed on every ring of the transport. Accepted
/// descriptors queue (with the ring that accepted them) until Kestrel asks for the next connection.
/// </summary>
/// <remarks>
/// Out of descriptors or memory, an accept pauses (<see cref="ResilientAccept"/>) and tries again
/// after <see cref="UringTransportOptions.AcceptBackoff"/>, or as soon as a connection of the
/// transport closes (<see cref="RetryPausedAccepts"/>, through the factory): that is when a
/// descriptor has just become free.
/// </remarks>
internal sealed class UringConnectionListener : IConnectionListener
{
    private readonly UringTransportFactory _factory;
    private readonly RingGroup _rings;
    private readonly UringTransportOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<(int Fd, int Ring)> _accepted =
        Channel.CreateUnbounded<(int, int)>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });
    private readonly CancellationTokenSource _unbind = new();
    private readonly Task[] _acceptLoops;
    private readonly ResilientAccept?[] _accepts; // one per ring, set by its accept loop
    private readonly Action _descriptorFreed;
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
        _accepts = new ResilientAccept?[rings.Count];
        _descriptorFreed = factory.OnDescriptorFreed;
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
                return UringConnection.Create(accepted.Fd, _rings[accepted.Ring], _rings.BuffersOf(accepted.Ring), _rings.SendSchedulerOf(accepted.Ring), _options, _descriptorFreed);
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
        _factory.ReleaseRings(this);
    }

    /// <summary>
    /// A descriptor has become free: each accept of this listener that is paused for want of one
    /// tries again now. Any thread (<see cref="ResilientAccept.RetryNow"/> may be called from any);
    /// when nothing is paused, a few volatile reads per ring.
    /// </summary>
    public void RetryPausedAccepts()
    {
        for (var i = 0; i < _accepts.Length; i++)
        {
            if (Volatile.Read(ref _accepts[i]) is { IsPaused: true } accept)
                accept.RetryNow();
        }
    }

    private async Task AcceptLoop(int index)
    {
        var ring = _rings[index];
        var token = _unbind.Token;
        try
        {
            await ring.SwitchToOwnerThread();
            // Out of descriptors or memory, accepting pauses (a back-off on the ring) until connections close.
            var accept = ring.AcceptMultishotResilient(_listenFd, _options.AcceptBackoff);
            accept.Paused += LogAcceptPaused;
            accept.RetryFailed += LogAcceptRetryFailed;
            accept.Resumed += LogAcceptResumed;
            Volatile.Write(ref _accepts[index], accept);
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

    // Once per pause at Warning: each closing connection may start an attempt, and most fail again.
    private void LogAcceptPaused(object? sender, AcceptPauseEventArgs e) =>
        _logger.LogWarning("Accepting on {EndPoint} paused: {Error}; trying again in {Backoff} ms or when a connection closes", EndPoint, e.Error.Message, e.Backoff.TotalMilliseconds);

    private void LogAcceptRetryFailed(object? sender, AcceptPauseEventArgs e)
    {
        if (_logger.IsEnabled(LogLevel.Debug))
            _logger.LogDebug("Accepting on {EndPoint} still paused after {FailedAttempts} attempts: {Error}; next in {Backoff} ms", EndPoint, e.FailedAttempts, e.Error.Message, e.Backoff.TotalMilliseconds);
    }

    private void LogAcceptResumed(object? sender, AcceptPauseEventArgs e) =>
        _logger.LogInformation("Accepting on {EndPoint} resumed after {PausedFor} ms ({FailedAttempts} failed attempts)", EndPoint, (long)e.PausedFor.TotalMilliseconds, e.FailedAttempts);
}
