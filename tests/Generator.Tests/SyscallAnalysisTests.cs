namespace Uring.Generator.Tests;

/// <summary>The GC-transition decision comes from the inline bodies: check it on helpers whose
/// behaviour is known from liburing's source.</summary>
[Collection(GenerationCollection.Name)]
public sealed class SyscallAnalysisTests(GenerationFixture generations)
{
    [Theory]
    [InlineData("io_uring_prep_nop", false)]
    [InlineData("io_uring_prep_read", false)]
    [InlineData("io_uring_get_sqe", false)]
    [InlineData("io_uring_cq_advance", false)]
    [InlineData("io_uring_cqe_seen", false)]
    [InlineData("io_uring_cq_ready", false)]
    [InlineData("io_uring_sqe_set_data64", false)]
    [InlineData("io_uring_submit", true)]             // library function: io_uring_enter
    [InlineData("io_uring_queue_init", true)]
    [InlineData("io_uring_wait_cqe", true)]           // inline, reaches __io_uring_get_cqe
    [InlineData("io_uring_peek_cqe", true)]           // may flush an overflowed CQ through the kernel
    [InlineData("io_uring_sqring_wait", true)]
    public void KernelEntryIsDerivedFromTheBodies(string function, bool mayEnterKernel)
    {
        var model = generations.DefaultModel;
        Assert.Equal(mayEnterKernel, model.Functions.Single(f => f.Name == function).MayEnterKernel);
    }

    [Fact]
    public void EmittedPointerTypesFollowTheAnalysis()
    {
        var source = new Emitter(generations.DefaultModel).EmitAll()["Liburing.g.cs"];
        Assert.Contains("delegate* unmanaged[SuppressGCTransition]<io_uring_sqe*, int, void*, uint, ulong, void> io_uring_prep_read", source, StringComparison.Ordinal);
        Assert.Contains("delegate* unmanaged<io_uring*, int> io_uring_submit ", source, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryExportedFunctionOfTheLibraryIsDeclaredAndEmitted()
    {
        var model = generations.DefaultModel;
        var sysroot = generations.Pins.Fetch(generations.Pins.DefaultGeneration);
        var exports = Exports.Read(HeaderSource.FromSysroot(sysroot).Library);
        var emitted = model.Functions.Where(f => f.Exported).Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var missing = exports.Where(e => e.StartsWith("io_uring", StringComparison.Ordinal) && !emitted.Contains(e)).Order().ToList();
        Assert.True(missing.Count == 0, "exported by liburing-ffi.so.2 but not emitted: " + string.Join(", ", missing));
        Assert.True(emitted.Count > 100, $"only {emitted.Count} functions emitted: liburing-ffi exports about 200");
    }
}
