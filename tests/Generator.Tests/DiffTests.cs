using Uring.Generator.Model;

namespace Uring.Generator.Tests;

[Collection(GenerationCollection.Name)]
public sealed class DiffTests(GenerationFixture generations)
{
    [Fact]
    public void Diff29To215NamesRealAdditions()
    {
        var rows = ModelDiff.Compare(generations.Model("2.9"), generations.Model("2.15"));
        // Facts about liburing 2.15 vs 2.9 read off their headers.
        Assert.Contains(rows, r => r is { Kind: "opcode", Name: "IORING_OP_EPOLL_WAIT", Change: "added" });
        Assert.Contains(rows, r => r is { Kind: "opcode", Name: "IORING_OP_LAST", Change: "changed" });
        Assert.Contains(rows, r => r is { Kind: "function", Change: "added" } && r.Name == "io_uring_prep_epoll_wait");
        Assert.Contains(rows, r => r is { Kind: "struct", Change: "added" });
        Assert.DoesNotContain(rows, r => r.Name == "IORING_OP_READ");
    }

    [Fact]
    public void DiffOfAGenerationWithItselfIsEmpty()
    {
        var model = generations.DefaultModel;
        Assert.Empty(ModelDiff.Compare(model, model));
        Assert.Contains("no differences", ModelDiff.Format("a", "b", []), StringComparison.Ordinal);
    }

    [Fact]
    public void FieldMovesAndRemovedFunctionsAreReported()
    {
        var field = new FieldModel("x", "x", 0, 4, "__u32", "uint", null, false, [], false, null);
        var record = new RecordModel("struct r", "r", "struct", 8, 4, "liburing.h", false, false, false, null, [field], []);
        var function = new FunctionModel("f", "int", "int", [], true, true, false, [], "liburing.h", null);
        var errno = new ErrnoModel("EPERM", 1, "Operation not permitted", "asm-generic/errno-base.h", null);
        var before = new ApiModel("1", "liburing-ffi.so.2", [record], [], [new ConstantModel("C", "1", "int", "int", "liburing.h")], [function], [errno], []);
        var moved = record with { Size = 16, Fields = [field with { Offset = 8 }] };
        var after = before with
        {
            Records = [moved], Functions = [], Constants = [new ConstantModel("C", "2", "int", "int", "liburing.h")],
            Errnos = [errno, new ErrnoModel("EFTYPE", 134, "Wrong file type for the intended operation", "asm-generic/errno.h", null)],
        };

        var rows = ModelDiff.Compare(before, after);
        Assert.Contains(rows, r => r is { Kind: "struct", Name: "r", Change: "layout" });
        Assert.Contains(rows, r => r is { Kind: "field", Name: "r.x", Change: "changed", Old: "@0 __u32", New: "@8 __u32" });
        Assert.Contains(rows, r => r is { Kind: "function", Name: "f", Change: "removed" });
        Assert.Contains(rows, r => r is { Kind: "constant", Name: "C", Change: "changed" });
        Assert.Contains(rows, r => r is { Kind: "errno", Name: "EFTYPE", Change: "added", New: "134" });
        Assert.DoesNotContain(rows, r => r.Name == "EPERM");
        var table = ModelDiff.Format("before", "after", rows);
        Assert.Contains("| field", table, StringComparison.Ordinal);
    }
}
