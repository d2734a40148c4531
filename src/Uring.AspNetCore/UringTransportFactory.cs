using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Uring.Bindings;

namespace Uring.AspNetCore;

/// <summary>
/// Kestrel's transport over io_uring: binds IPv4/IPv6 TCP endpoints and accepts on them with
/// multishot accepts, one per ring; each connection is a <see cref="SocketPipe"/> on the ring that
/// accepted it. The rings are shared by every listener of the factory and live while one does.
/// When a connection closes, every accept paused for want of descriptors tries again at once.
/// </summary>
public sealed class UringTransportFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly UringTransportOptions _options;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private RingGroup? _rings;
    private int _listeners;
    private UringConnectionListener[] _bound = []; // replaced, never changed: read without the lock

    /// <summary>A factory with the given options (defaults when null).</summary>
    public UringTransportFactory(IOptions<UringTransportOptions>? options = null, ILoggerFactory? loggerFactory = null)
    {
        _options = options?.Value ?? new UringTransportOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.RingCount, "RingCount");
        var backoff = _options.AcceptBackoff ?? throw new ArgumentNullException("AcceptBackoff");
        if (backoff.Initial <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException("AcceptBackoff.Initial", backoff.Initial, "The initial accept back-off must be positive.");
        if (backoff.Maximum < backoff.Initial)
            throw new ArgumentOutOfRangeException("AcceptBackoff.Maximum", backoff.Maximum, "The maximum accept back-off must be at least the initial one.");
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Uring.AspNetCore");
    }

    /// <summary>True for IPv4 and IPv6 endpoints.</summary>
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    /// <inheritdoc />
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not IPEndPoint ip)
            throw new NotSupportedException($"The io_uring transport binds IPv4 and IPv6 endpoints only, not {endpoint.GetType().Name}.");
        int fd;
        try
        {
            fd = NetSocket.OpenTcpListener(ip, _options.Backlog);
        }
        catch (UringIOException e) when (e.Errno == LinuxErrno.EADDRINUSE)
        {
            throw new AddressInUseException(e.Message, e);
        }
        RingGroup rings;
        try
        {
            rings = AcquireRings();
        }
        catch
        {
            NetSocket.Close(fd);
            throw;
        }
        var listener = new UringConnectionListener(this, rings, fd, NetSocket.GetLocalEndPoint(fd), _options, _logger);
        lock (_gate)
            _bound = [.. _bound, listener];
        listener.Start();
        return ValueTask.FromResult<IConnectionListener>(listener);
    }

    /// <summary>
    /// A connection's socket was closed: its descriptor is free, so every accept paused for want of
    /// one (on any listener: the limit is the process's) tries again now instead of after its
    /// back-off. Any thread; a few volatile reads when nothing is paused.
    /// </summary>
    internal void OnDescriptorFreed()
    {
        foreach (var listener in Volatile.Read(ref _bound))
            listener.RetryPausedAccepts();
    }

    private RingGroup AcquireRings()
    {
        lock (_gate)
        {
            _rings ??= new RingGroup(_options);
            _listeners++;
            return _rings;
        }
    }

    /// <summary>A listener is disposed: the last one takes the rings with it.</summary>
    internal void ReleaseRings(UringConnectionListener listener)
    {
        RingGroup? last = null;
        lock (_gate)
        {
            _bound = Array.FindAll(_bound, l => l != listener);
            if (--_listeners == 0)
            {
                last = _rings;
                _rings = null;
            }
        }
        last?.Dispose();
    }
}
