// The benchmark app of bench/kestrel.sh: TechEmpower-style /plaintext and /json endpoints on
// Kestrel, over the Sockets transport or the ring.
//   Uring.Kestrel.Bench --transport sockets|ring|ring-direct|ring-threadpool [--port 9500]
using System.Net;
using System.Text.Json.Serialization;
using Uring.AspNetCore;

var transport = Option("--transport") ?? "sockets";
var port = int.Parse(Option("--port") ?? "9500");

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
switch (transport)
{
    case "sockets":
        break;
    case "ring":
        builder.WebHost.UseUringTransport();
        break;
    case "ring-direct":
        builder.WebHost.UseUringTransport(o => o.UseProvidedBuffers = false);
        break;
    case "ring-threadpool":
        builder.WebHost.UseUringTransport(o => o.ApplicationScheduling = UringApplicationScheduling.ThreadPool);
        break;
    default:
        Console.Error.WriteLine($"unknown transport {transport}: sockets, ring, ring-direct or ring-threadpool");
        return 2;
}
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, BenchJson.Default));

var app = builder.Build();
app.MapGet("/plaintext", () => "Hello, World!");
app.MapGet("/json", () => new JsonMessage("Hello, World!"));
await app.StartAsync();
Console.WriteLine($"listening on 127.0.0.1:{port} ({transport})");
await app.WaitForShutdownAsync();
return 0;

string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

internal sealed record JsonMessage(string Message);

[JsonSerializable(typeof(JsonMessage))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class BenchJson : JsonSerializerContext;
