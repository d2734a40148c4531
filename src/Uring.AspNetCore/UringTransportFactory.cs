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
/// </summary>
public sealed class UringTransportFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly UringTransportOptions _options;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private RingGroup? _rings;
    private int _listeners;

    /// <summary>A factory with the given options (defaults when null).</summary>
    public UringTransportFactory(IOptions<UringTransportOptions>? options = null, ILoggerFactory? loggerFactory = null)
    {
        _options = options?.Value ?? new UringTransportOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.RingCount, "RingCount");
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
        listener.Start();
        return ValueTask.FromResult<IConnectionListener>(listener);
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
    internal void ReleaseRings()
    {
        RingGroup? last = null;
        lock (_gate)
        {
            if (--_listeners == 0)
            {
                last = _rings;
                _rings = null;
            }
        }
        last?.Dispose();
    }
}
