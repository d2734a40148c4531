using Uring.Bindings.Tests.Infrastructure;

namespace Uring.Bindings.Tests;

/// <summary>
/// The gcc probe itself, run on a small hand-written model (Fixtures/mini-model.json) whose
/// numbers are known from the io_uring ABI: guards the harness that every other layout and
/// constant test relies on.
/// </summary>
public sealed class ProbeHarnessTests
{
    private static readonly Lazy<(ApiModel Model, GccFacts Facts)> s_fixture = new(() =>
    {
        // The fixture's facts are io_uring ABI, the same in every pinned generation.
        var model = ApiModel.Load(RepoLayout.Fixture("mini-model.json"));
        return (model, GccProbe.Run(model, RepoLayout.Sysroot(RepoLayout.DefaultGeneration())));
    });

    [Fact]
    public void Probe_reports_known_layouts()
    {
        var gcc = s_fixture.Value.Facts;
        var cqe = gcc.Records["io_uring_cqe"];
        Assert.Equal((16L, 8L), (cqe.Size, cqe.Align));
        Assert.Equal(new GccField(8, 4, Signed: true), cqe.Fields["res"]);     // __s32
        Assert.Equal(new GccField(16, 8, Signed: false), cqe.Fields["big_cqe"]); // flexible: element size
        var bufRing = gcc.Records["io_uring_buf_ring"];
        Assert.Equal(new GccField(14, 2, Signed: false), bufRing.Fields["tail"]); // inside an anonymous struct in an anonymous union
        Assert.Equal(new GccField(0, 16), bufRing.Fields["bufs"]);   // bufs[0] overlays the ring header; a struct: no signedness
        Assert.Equal(256L, gcc.Records["statx"].Size);              // opaque: size only
        Assert.Empty(gcc.Records["statx"].Fields);
    }

    [Fact]
    public void Probe_reports_values_sizes_and_signedness()
    {
        var gcc = s_fixture.Value.Facts;
        Assert.Equal(new GccInteger(4294967295, 4, false), gcc.Constants["IORING_FILE_INDEX_ALLOC"]);
        Assert.Equal(new GccInteger(0x80000000, 8, false), gcc.Constants["IORING_OFF_PBUF_RING"]);
        Assert.Equal(new GccInteger(2, 4, false), gcc.Constants["IORING_SETUP_SQPOLL"]);
        Assert.Equal(new GccInteger(1, 4, true), gcc.Enums[0].Members["IORING_OP_READV"]);
        Assert.Equal(4, gcc.Enums[0].Size);
    }

    [Fact]
    public void The_fixture_model_agrees_with_gcc()
    {
        // The fixture was written by hand from the headers; if gcc disagrees, either the harness
        // or the fixture is wrong, and both are this project's responsibility.
        var (model, gcc) = s_fixture.Value;
        var table = new Mismatches("subject", "check", "gcc", "fixture");
        foreach (var record in model.Records)
        {
            var g = gcc.Records[record.CsName];
            if (g.Size != record.Size || g.Align != record.Align)
                table.Add(record.CName, "size/align", $"{g.Size}/{g.Align}", $"{record.Size}/{record.Align}");
            foreach (var field in record.Fields.Where(f => !f.Bitfield))
            {
                var gf = g.Fields[field.Name];
                if (gf.Offset != field.Offset || (!field.Flexible && gf.Size != field.Size))
                    table.Add($"{record.CsName}.{field.Name}", "offset/size", $"{gf.Offset}/{gf.Size}", $"{field.Offset}/{field.Size}");
            }
        }
        foreach (var constant in model.Constants)
            if (gcc.Constants[constant.Name].Value != CsTypes.ParseModelValue(constant.Value))
                table.Add(constant.Name, "value", gcc.Constants[constant.Name].Value, constant.Value);
        table.AssertNone("fixture model vs gcc");
    }

    [Fact]
    public void Negative_values_survive_the_round_trip()
    {
        var model = new ApiModel
        {
            Generation = s_fixture.Value.Model.Generation,
            Constants =
            [
                new ConstantModel { Name = "LIBURING_UDATA_TIMEOUT", CsType = "ulong" },
                new ConstantModel { Name = "(-5)", CsType = "int" },
                new ConstantModel { Name = "(-9223372036854775807LL - 1)", CsType = "long" },
            ],
        };
        var gcc = GccProbe.Run(model, RepoLayout.Sysroot(RepoLayout.DefaultGeneration()));
        Assert.Equal(new GccInteger(ulong.MaxValue, 8, false), gcc.Constants["LIBURING_UDATA_TIMEOUT"]);
        Assert.Equal(new GccInteger(-5, 4, true), gcc.Constants["(-5)"]);
        Assert.Equal(new GccInteger(long.MinValue, 8, true), gcc.Constants["(-9223372036854775807LL - 1)"]);
    }
}
