using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Uring.AspNetCore.Tests;

/// <summary>Which transport a test app runs on.</summary>
public enum Transport
{
    Sockets,
    Ring,
    RingThreadPool,
    RingNoProvidedBuffers,
}

/// <summary>
/// One minimal-API app, started on 127.0.0.1 with a free port on the transport asked for; the same
/// endpoints whatever the transport.
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestApp(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public int Port => Address.Port;

    /// <summary>Completes with true when a /wait request saw RequestAborted.</summary>
    public TaskCompletionSource<bool> WaitAborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a /wait request has started.</summary>
    public TaskCompletionSource WaitStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="transport">Sockets, or the ring in one of its configurations.</param>
    /// <param name="shutdownTimeout">Kestrel's graceful shutdown limit (its default when null).</param>
    /// <param name="configure">Further ring transport options, applied after the transport's own.</param>
    /// <param name="logs">Where the app logs (nowhere when null).</param>
    public static async Task<TestApp> StartAsync(Transport transport, TimeSpan? shutdownTimeout = null,
        Action<UringTransportOptions>? configure = null, ILoggerProvider? logs = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (logs is not null)
            builder.Logging.AddProvider(logs);
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        if (shutdownTimeout is { } timeout)
            builder.WebHost.UseShutdownTimeout(timeout);
        if (transport != Transport.Sockets)
        {
            builder.WebHost.UseUringTransport(o =>
            {
                o.RingCount = 1;
                o.ApplicationScheduling = transport == Transport.RingThreadPool ? UringApplicationScheduling.ThreadPool : UringApplicationScheduling.RingThread;
                o.UseProvidedBuffers = transport != Transport.RingNoProvidedBuffers;
                configure?.Invoke(o);
            });
        }
        var app = builder.Build();
        TestApp? self = null;
        app.MapGet("/hello", () => "Hello, World!");
        app.MapGet("/json", () => Results.Json(new Greeting("Hello, World!")));
        app.MapGet("/connection", (HttpContext c) => c.Connection.Id);
        app.MapGet("/thread", () => Thread.CurrentThread.Name ?? "");
        app.MapGet("/big", async (HttpContext c, int size) =>
        {
            c.Response.ContentLength = size;
            var block = Pattern(64 * 1024);
            for (var sent = 0; sent < size; sent += block.Length)
                await c.Response.Body.WriteAsync(block.AsMemory(0, Math.Min(block.Length, size - sent)));
        });
        app.MapPost("/echo", async (HttpContext c) =>
        {
            if (c.Request.ContentLength is { } length)
                c.Response.ContentLength = length;
            await c.Request.Body.CopyToAsync(c.Response.Body);
        });
        app.MapPost("/sha256", async (HttpContext c) =>
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[64 * 1024];
            long total = 0;
            int n;
            while ((n = await c.Request.Body.ReadAsync(buffer)) > 0)
            {
                sha.AppendData(buffer, 0, n);
                total += n;
            }
            return $"{total} {Convert.ToHexStringLower(sha.GetHashAndReset())}";
        });
        app.MapGet("/wait", async (HttpContext c) =>
        {
            self!.WaitStarted.TrySetResult();
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(30), c.RequestAborted);
                self.WaitAborted.TrySetResult(false);
            }
            catch (OperationCanceledException)
            {
                self.WaitAborted.TrySetResult(true);
            }
        });
        app.MapGet("/slow", async () =>
        {
            await Task.Delay(500);
            return "slow done";
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        self = new TestApp(app, new Uri(address));
        return self;
    }

    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    /// <summary>Deterministic bytes: the same for the server's /big and the tests.</summary>
    public static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < bytes.Length; i++)
            bytes[i] = (byte)(i * 31 + (i >> 8));
        return bytes;
    }

    public sealed record Greeting(string Message);
}
