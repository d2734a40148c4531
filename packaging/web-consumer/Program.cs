// Serves GET / on the ring transport at the address given as the first argument (port 0: any free
// port), prints the address it got and which transport serves it, and stops at end of input.
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Connections;
using Uring.AspNetCore;

var builder = WebApplication.CreateBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseUrls(args.Length > 0 ? args[0] : "http://127.0.0.1:0");
builder.WebHost.UseUringTransport();
var app = builder.Build();
app.MapGet("/", () => "hello from the ring");
await app.StartAsync();

var transport = app.Services.GetRequiredService<IConnectionListenerFactory>().GetType().FullName;
var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
Console.WriteLine($"listening on {address} with {transport}");
Console.Out.Flush();

await Task.Run(() => Console.In.ReadToEnd());
await app.StopAsync();
