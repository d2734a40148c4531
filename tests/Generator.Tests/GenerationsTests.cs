using System.Diagnostics;
using Xunit.Abstractions;

namespace Uring.Generator.Tests;

/// <summary>Every pinned generation generates; one without liburing-ffi (2.3) is reduced to its real
/// exports and compiles (Bindings.Tests compiles and layout-checks the ffi generations).</summary>
[Collection(GenerationCollection.Name)]
public sealed class GenerationsTests(GenerationFixture generations, ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(GenerationFixture.PinnedGenerations), MemberType = typeof(GenerationFixture))]
    public void GenerationParsesWithTheCoreAbi(string generation)
    {
        var model = generations.Model(generation);
        var sqe = model.Records.Single(r => r.CsName == "io_uring_sqe");
        Assert.Equal(64, sqe.Size);
        Assert.Contains(sqe.Fields, f => f.Name == "user_data" && f.Offset == 32);
        var cqe = model.Records.Single(r => r.CsName == "io_uring_cqe");
        Assert.Equal(16, cqe.Size);
        Assert.Contains(model.Enums.Single(e => e.CsName == "io_uring_op").Members, m => m.Name == "IORING_OP_READ");
        Assert.Contains(model.Functions, f => f.Name == "io_uring_queue_init" && f.Exported);
        Assert.Equal(generations.Pins.LiburingVersion(generation), model.Generation);
    }

    [Fact]
    public void Liburing23HasNoFfiLibrarySoInlineHelpersAreNotExported()
    {
        var model = generations.Model("2.3");
        Assert.Contains(model.Functions, f => f.Name == "io_uring_prep_nop" && f.Inline && !f.Exported);
        Assert.Contains(model.Functions, f => f.Name == "io_uring_submit" && f.Exported);
        Assert.Contains(model.Notes, n => n.Contains("liburing.so.2 is not liburing-ffi", StringComparison.Ordinal));
    }

    [Fact]
    public void EveryGenerationWithoutFfiCompiles()
    {
        var withoutFfi = generations.Pins.Generations.Where(generations.LacksFfi).ToList();
        output.WriteLine($"pinned without liburing-ffi: {string.Join(", ", withoutFfi)}");
        foreach (var generation in withoutFfi)
            Compile(generation);
    }

    private void Compile(string generation)
    {
        var root = generations.Pins.RepoRoot;
        var work = Path.Combine(Path.GetTempPath(), $"uring-gen-{generation}-{Guid.NewGuid():N}");
        try
        {
            Generation.WriteTree(Path.Combine(work, "Generated"), new Emitter(generations.Model(generation)).EmitAll());
            // A throwaway project outside the repository: the hand-written Bindings sources plus
            // this generation's output, with the same compiler settings as src/.
            File.WriteAllText(Path.Combine(work, "Check.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                    <AssemblyName>Uring.Bindings</AssemblyName>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <AllowUnsafeBlocks>true</AllowUnsafeBlocks>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                    <NoWarn>$(NoWarn);CS1591;CS8981</NoWarn>
                    <EnableDefaultCompileItems>false</EnableDefaultCompileItems>
                  </PropertyGroup>
                  <ItemGroup>
                    <Compile Include="{Path.Combine(root, "src/Bindings")}/*.cs" />
                    <Compile Include="Generated/**/*.g.cs" />
                  </ItemGroup>
                </Project>
                """);
            var start = new ProcessStartInfo("dotnet", ["build", Path.Combine(work, "Check.csproj"), "-nologo", "-v", "q", "-clp:ErrorsOnly", "-o", Path.Combine(work, "bin")])
            { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            output.WriteLine(stdout.Result + stderr.Result);
            Assert.True(process.ExitCode == 0, $"liburing {generation} bindings do not compile:\n{stdout.Result}{stderr.Result}");
            Assert.True(File.Exists(Path.Combine(work, "bin", "Uring.Bindings.dll")));
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }
}
