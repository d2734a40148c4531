using System.Net.Http;
using Uring.Packaging.Tests.Infrastructure;

namespace Uring.Packaging.Tests;

/// <summary>
/// An ASP.NET Core app outside the repository (packaging/web-consumer, copied to a temporary
/// folder) that references Uring.AspNetCore from a local folder feed, restores, builds, serves over
/// the ring on loopback, and answers a real HTTP client.
/// </summary>
[Collection(PackagesCollection.Name)]
public sealed class WebConsumerTests(PackedFeed packed, ITestOutputHelper output)
{
    [Fact]
    public async Task An_app_using_the_Uring_AspNetCore_package_serves_http_over_the_ring()
    {
        var folder = ConsumerProject.CopyTemplate(packed, Repo.WebConsumerTemplate,
            ["WebApp.csproj", "Program.cs"], packed.Feed, "web-consumer");

        packed.ForgetCachedUringPackages();
        var build = Processes.Run("dotnet", ["build", "-c", "Release", "-nologo", "-v", "q", "-clp:ErrorsOnly",
            "-p:UringVersion=" + packed.Packages["Uring.AspNetCore"].Version, "-p:NuGetAudit=false"],
            folder, TimeSpan.FromMinutes(10), packed.Environment).EnsureSuccess();
        Assert.True(Directory.Exists(Path.Combine(packed.PackagesFolder, "uring.aspnetcore")), "Uring.AspNetCore was not restored from the feed");

        using var server = Processes.Start("dotnet",
            [Path.Combine(folder, "bin", "Release", "net10.0", "WebApp.dll"), "http://127.0.0.1:0"], folder, packed.Environment);
        var stderr = server.StandardError.ReadToEndAsync();
        try
        {
            var line = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1));
            if (line is null)
                Assert.Fail("the app ended before listening: " + await stderr); // (stderr ends with the process)
            // "listening on http://127.0.0.1:PORT with Uring.AspNetCore.UringTransportFactory"
            var parts = line!.Split(' ');
            Assert.True(parts.Length == 5 && parts[0] == "listening", "unexpected output: " + line);
            Assert.Equal("Uring.AspNetCore.UringTransportFactory", parts[4]);

            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            for (var i = 0; i < 3; i++) // three requests, one kept-alive connection
                Assert.Equal("hello from the ring", await client.GetStringAsync(parts[2] + "/"));

            server.StandardInput.Close(); // the app stops at end of input
            Assert.True(server.WaitForExit(TimeSpan.FromSeconds(30)), "the app did not stop at end of input");
            if (server.ExitCode != 0)
                Assert.Fail($"exit {server.ExitCode}: {await stderr}");
            output.WriteLine($"restore + build {build.Elapsed.TotalSeconds:F1} s; {line}");
        }
        finally
        {
            if (!server.HasExited)
                server.Kill(entireProcessTree: true);
        }
    }
}
