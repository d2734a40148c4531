using System.IO.Compression;
using System.Security.Cryptography;
using Uring.Packaging.Tests.Infrastructure;

namespace Uring.Packaging.Tests;

/// <summary>
/// A program outside the repository (packaging/consumer, copied to a temporary folder) that
/// references Uring.Core from a local folder feed, restores, builds, and reads a file through
/// Ring.Read: portable, and for linux-x64. The bytes it read are compared with the file's.
/// </summary>
[Collection(PackagesCollection.Name)]
public sealed class ConsumerTests(PackedFeed packed, ITestOutputHelper output)
{
    [Fact]
    public void A_portable_app_reads_a_file_with_the_liburing_from_runtimes_linux_x64_native()
    {
        var data = TestFile("portable");
        var consumer = new ConsumerProject(packed, packed.Feed, "portable");
        var build = consumer.Build();
        var read = consumer.Run(data.Path);

        var expectedLibrary = Path.Combine(consumer.Output(null), "runtimes", "linux-x64", "native", "liburing-ffi.so.2");
        Assert.Equal(expectedLibrary, read.LibraryPath);
        Assert.False(File.Exists(Path.Combine(consumer.Output(null), "liburing-ffi.so.2")), "a portable app keeps the RID-specific asset under runtimes/");
        AssertReadWithThePinnedDefault(data, read);
        AssertRestoredOutsideTheRepository(consumer);
        output.WriteLine($"pack {packed.Pack.Elapsed.TotalSeconds:F1} s; restore + build {build.Elapsed.TotalSeconds:F1} s; run {read.Process.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public void A_linux_x64_app_reads_a_file_with_the_liburing_copied_beside_it()
    {
        var data = TestFile("linux-x64");
        var consumer = new ConsumerProject(packed, packed.Feed, "linux-x64");
        var build = consumer.Build("linux-x64");
        var read = consumer.Run(data.Path, "linux-x64");

        Assert.Equal(Path.Combine(consumer.Output("linux-x64"), "liburing-ffi.so.2"), read.LibraryPath);
        AssertReadWithThePinnedDefault(data, read);
        AssertRestoredOutsideTheRepository(consumer);
        output.WriteLine($"restore + build -r linux-x64 {build.Elapsed.TotalSeconds:F1} s; run {read.Process.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public void A_package_repacked_under_the_same_version_is_the_one_restored()
    {
        var other = Repo.OtherGenerationWithFfiLibrary();
        var feed = packed.NewFolder("feed-repacked");
        foreach (var package in new[] { packed.Bindings, packed.Core })
            File.Copy(package.Path, Path.Combine(feed, Path.GetFileName(package.Path)));

        // The package folder holds the bindings as packed...
        var before = new ConsumerProject(packed, feed, "before-repack");
        packed.ForgetCachedUringPackages();
        before.Restore();
        Assert.True(Directory.Exists(Path.Combine(packed.PackagesFolder, "uring.bindings", packed.Bindings.Version.ToLowerInvariant())),
            "the first restore should have extracted Uring.Bindings into the private package folder");

        // ...then the same id and version is packed again with other bytes: another liburing's library.
        var repacked = Path.Combine(feed, Path.GetFileName(packed.Bindings.Path));
        using (var zip = ZipFile.Open(repacked, ZipArchiveMode.Update))
        {
            const string native = "runtimes/linux-x64/native/liburing-ffi.so.2";
            (zip.GetEntry(native) ?? throw new InvalidOperationException($"the packed bindings have no {native}")).Delete();
            using var stream = zip.CreateEntry(native).Open();
            stream.Write(Repo.PinnedLibrary(other));
        }

        var data = TestFile("repacked");
        var after = new ConsumerProject(packed, feed, "after-repack");
        after.Build();
        var read = after.Run(data.Path);
        Assert.Equal(other, read.LiburingVersion);
        Assert.Equal(Repo.Sha256(Repo.PinnedLibrary(other)), Repo.Sha256(File.ReadAllBytes(read.LibraryPath)));
        Assert.Equal((data.Length, data.Sha256), (read.Bytes, read.Sha256));
    }

    private static void AssertReadWithThePinnedDefault(TestData data, ReadFileOutput read)
    {
        Assert.Equal(Repo.DefaultGeneration, read.LiburingVersion);
        Assert.Equal(Repo.Sha256(Repo.PinnedLibrary(Repo.DefaultGeneration)), Repo.Sha256(File.ReadAllBytes(read.LibraryPath)));
        Assert.Equal(data.Length, read.Bytes);
        Assert.Equal(data.Sha256, read.Sha256);
    }

    /// <summary>The restore took the packages from the private folder, and nothing names the repository.</summary>
    private void AssertRestoredOutsideTheRepository(ConsumerProject consumer)
    {
        var assets = File.ReadAllText(Path.Combine(consumer.Directory, "obj", "project.assets.json"));
        Assert.Contains(packed.PackagesFolder, assets);
        Assert.DoesNotContain(Repo.Root, assets);
    }

    /// <summary>Random bytes whose length is no multiple of ReadFile's 16 KiB reads.</summary>
    private TestData TestFile(string name)
    {
        var bytes = RandomNumberGenerator.GetBytes(100_003);
        var path = Path.Combine(packed.NewFolder("data-" + name), "data.bin");
        File.WriteAllBytes(path, bytes);
        return new TestData(path, bytes.Length, Repo.Sha256(bytes));
    }

    private sealed record TestData(string Path, long Length, string Sha256);
}
