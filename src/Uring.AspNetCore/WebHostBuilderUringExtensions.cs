using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Uring.AspNetCore;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>Switches Kestrel from its Sockets transport to the io_uring transport.</summary>
public static class WebHostBuilderUringExtensions
{
    /// <summary>
    /// Kestrel accepts and serves its TCP endpoints (IPv4, IPv6) over io_uring rings; other endpoints
    /// (Unix sockets, named pipes) stay on the transports registered before.
    /// <code>builder.WebHost.UseUringTransport();</code>
    /// </summary>
    public static IWebHostBuilder UseUringTransport(this IWebHostBuilder builder, Action<UringTransportOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.ConfigureServices(services =>
        {
            // Kestrel prefers the transport registered last among those that can bind an endpoint.
            services.AddSingleton<IConnectionListenerFactory, UringTransportFactory>();
            if (configure is not null)
                services.Configure(configure);
        });
    }
}
