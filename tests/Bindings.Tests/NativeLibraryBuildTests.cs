using System.Security.Cryptography;
using System.Text.Json;
using Uring.Bindings.Tests.Infrastructure;

namespace Uring.Bindings.Tests;

/// <summary>
/// How the build places liburing-ffi.so.2 (Directory.Build.props, src/Bindings/LiburingNative.targets):
/// the generation comes from pins.txt, and a copy whose content differs from the wanted pin's is
/// replaced whatever the two files' dates.
/// </summary>
public sealed class NativeLibraryBuildTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("uring-native-copy-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void The_build_takes_the_generation_from_the_pins_default_line()
    {
        var run = Processes.Run("dotnet", ["msbuild", Path.Combine(RepoLayout.Root, "src", "Bindings", "Uring.Bindings.csproj"),
            "-nologo", "-getProperty:LiburingGeneration", "-getProperty:LiburingFfiPath"], RepoLayout.Root, TimeSpan.FromMinutes(3));
        Assert.True(run.ExitCode == 0, run.StdOut + run.StdErr);
        using var json = JsonDocument.Parse(run.StdOut);
        var properties = json.RootElement.GetProperty("Properties");
        Assert.Equal(RepoLayout.DefaultGeneration(), properties.GetProperty("LiburingGeneration").GetString());
        Assert.Equal(Path.Combine(RepoLayout.Sysroot(RepoLayout.DefaultGeneration()), "usr", "lib", "x86_64-linux-gnu", "liburing-ffi.so.2"),
            Path.GetFullPath(properties.GetProperty("LiburingFfiPath").GetString()!));
    }

    [Fact]
    public void A_copy_whose_content_differs_is_replaced_whatever_its_date()
    {
        var generations = PinnedBindings.FfiGenerations();
        var first = RepoLayout.DefaultGeneration();
        var second = generations.FirstOrDefault(g => g != first)
                     ?? throw new InvalidOperationException("this check needs a second pinned generation with liburing-ffi.so.2");

        // A provider that imports the native targets as Uring.Bindings does, and an app that references it.
        var props = Path.Combine(RepoLayout.Root, "Directory.Build.props");
        Directory.CreateDirectory(Path.Combine(_work, "Provider"));
        Directory.CreateDirectory(Path.Combine(_work, "App"));
        File.WriteAllText(Path.Combine(_work, "Provider", "Provider.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <Import Project="{props}" />
              <PropertyGroup><LiburingNativeProvider>true</LiburingNativeProvider><EnableDefaultCompileItems>false</EnableDefaultCompileItems></PropertyGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(_work, "App", "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <Import Project="{props}" />
              <PropertyGroup><EnableDefaultCompileItems>false</EnableDefaultCompileItems></PropertyGroup>
              <ItemGroup><ProjectReference Include="../Provider/Provider.csproj" /></ItemGroup>
            </Project>
            """);
        var copies = new[] { "App", "Provider" }.Select(p => Path.Combine(_work, p, "bin", "Release", "net10.0", "liburing-ffi.so.2")).ToList();

        foreach (var generation in new[] { first, second, first })
        {
            // Every copy already there is made newer than any pinned file: a copy by date would keep it.
            foreach (var copy in copies.Where(File.Exists))
                File.SetLastWriteTimeUtc(copy, DateTime.UtcNow.AddDays(1));
            var build = Processes.Run("dotnet", ["build", Path.Combine(_work, "App", "App.csproj"), "-c", "Release", "-nologo", "-v", "q",
                "-clp:ErrorsOnly", $"-p:LiburingGeneration={generation}"], _work, TimeSpan.FromMinutes(10));
            Assert.True(build.ExitCode == 0, build.StdOut + build.StdErr);
            var pinned = Sha256(RepoLayout.PinnedLibrary(generation));
            foreach (var copy in copies)
                Assert.True(Sha256(copy) == pinned, $"after building for {generation}, {copy} is not that generation's liburing-ffi.so.2");
        }
        Assert.NotEqual(Sha256(RepoLayout.PinnedLibrary(first)), Sha256(RepoLayout.PinnedLibrary(second)));
    }

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
}
