using System.Text.Json;
using Uring.Generator.Model;
using Uring.Generator.Operations;

namespace Uring.Generator.Tests;

/// <summary>
/// The operation table: every liburing prep helper is accounted for, the surfaces generated
/// from the table are the checked-in ones, and the table's own rules (names, kinds) hold.
/// </summary>
public sealed class OperationTableTests
{
    private static readonly string RepoRoot = Pins.Load().RepoRoot;

    private static ApiModel DefaultModel() =>
        ApiModel.Load(Path.Combine(RepoRoot, "src/Bindings/Generated/api-model.json"));

    [Fact]
    public void Every_prep_helper_of_liburing_is_in_the_table_or_ignored_with_a_reason()
    {
        var table = OperationTable.Load(RepoRoot);
        var model = DefaultModel();
        var accounted = table.AccountedPrepFunctions();
        var missing = model.Functions
            .Where(f => f.Exported && f.Name.StartsWith("io_uring_prep_", StringComparison.Ordinal) && !accounted.ContainsKey(f.Name))
            .Select(f => f.Name)
            .ToList();
        Assert.True(missing.Count == 0,
            $"liburing {model.Generation} has prep helpers the operation table neither offers nor ignores: {string.Join(", ", missing)}. " +
            "Add each to src/Uring/Operations/operations.json: as an operation, or under \"ignored\" with a reason.");
    }

    [Fact]
    public void The_ignore_list_names_real_helpers_with_reasons_and_nothing_twice()
    {
        var table = OperationTable.Load(RepoRoot);
        var exported = DefaultModel().Functions.Where(f => f.Exported).Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var offered = table.Operations.SelectMany(o => o.Prep.SelectMany(OperationTable.PrepFunctionsIn).Concat(o.PrepFunctions)).ToHashSet(StringComparer.Ordinal);
        foreach (var ignored in table.Ignored)
        {
            Assert.True(exported.Contains(ignored.Function), $"ignored {ignored.Function} is not a liburing export (removed upstream?)");
            Assert.False(string.IsNullOrWhiteSpace(ignored.Reason), $"ignored {ignored.Function} gives no reason");
            Assert.DoesNotContain(ignored.Function, offered);
        }
        Assert.Equal(table.Ignored.Count, table.Ignored.Select(i => i.Function).Distinct().Count());
    }

    [Fact]
    public void A_prep_helper_missing_from_the_table_is_named_by_the_check()
    {
        // The check of the first test, fed a model with one helper the table does not know.
        var table = OperationTable.Load(RepoRoot);
        var model = DefaultModel();
        var extra = model.Functions.First(f => f.Name == "io_uring_prep_nop") with { Name = "io_uring_prep_brand_new" };
        var accounted = table.AccountedPrepFunctions();
        var missing = model.Functions.Append(extra)
            .Where(f => f.Exported && f.Name.StartsWith("io_uring_prep_", StringComparison.Ordinal) && !accounted.ContainsKey(f.Name))
            .Select(f => f.Name);
        Assert.Equal(["io_uring_prep_brand_new"], missing);
    }

    [Fact]
    public void Regenerating_from_the_table_gives_the_checked_in_files_byte_for_byte()
    {
        var files = OperationsCommand.EmitAll(RepoRoot);
        Assert.NotEmpty(files);
        foreach (var (relative, content) in files)
        {
            var path = Path.Combine(RepoRoot, relative);
            Assert.True(File.Exists(path), $"{relative} is generated from the table but not checked in");
            Assert.True(File.ReadAllText(path) == content, $"{relative} differs from what uring-gen operations generates (edited by hand? run ./build.sh generate)");
        }
        var kinds = Directory.EnumerateFiles(Path.Combine(RepoRoot, FacadeEmitter.KindsFolder), "*.g.cs")
            .Select(f => Path.GetRelativePath(RepoRoot, f).Replace('\\', '/'));
        Assert.All(kinds, k => Assert.True(files.ContainsKey(k), $"{k} is stale: no operation of the table generates it"));
    }

    [Theory]
    [InlineData("Read", "read")]
    [InlineData("ReadV", "readv")]
    [InlineData("WriteV", "writev")]
    [InlineData("OpenAt", "openat")]
    [InlineData("UnlinkAt", "unlinkat")]
    [InlineData("Receive", "recv")]
    [InlineData("ReceiveProvided", "recv_provided")]
    [InlineData("ReceiveMultishot", "recv_multishot")]
    [InlineData("SendMessage", "sendmsg")]
    [InlineData("ReceiveMessage", "recvmsg")]
    [InlineData("SendZeroCopy", "send_zc")]
    [InlineData("SendZeroCopyFixed", "send_zc_fixed")]
    [InlineData("PollAdd", "poll_add")]
    [InlineData("TimeoutUntil", "timeout_until")]
    [InlineData("TimeoutUntilTimestamp", "timeout_until_timestamp")]
    [InlineData("Close", "close_fd")]
    [InlineData("FixedFdInstall", "fixed_fd_install")]
    [InlineData("AcceptMultishotResilient", "accept_multishot_resilient")]
    public void Python_names_follow_the_one_rule(string csharp, string python) =>
        Assert.Equal(python, Naming.Python(csharp));

    [Fact]
    public void Every_operation_has_one_name_in_each_language_and_no_two_share_one()
    {
        var table = OperationTable.Load(RepoRoot);
        Assert.Equal(table.Operations.Count, table.Operations.Select(o => o.Name).Distinct().Count());
        Assert.Equal(table.Operations.Count, table.Operations.Select(o => o.PythonName).Distinct().Count());
    }

    [Theory]
    [InlineData("""{ "name": "Nop", "opcode": "IORING_OP_NOP", "doc": "d", "params": [ { "name": "x", "kind": "nonsense" } ], "prep": ["io_uring_prep_nop(sqe)"], "result": "int" }""", "unknown kind 'nonsense'")]
    [InlineData("""{ "name": "nop", "opcode": "IORING_OP_NOP", "doc": "d", "params": [], "prep": ["io_uring_prep_nop(sqe)"], "result": "int" }""", "PascalCase")]
    [InlineData("""{ "name": "Nop", "opcode": "NOP", "doc": "d", "params": [], "prep": ["io_uring_prep_nop(sqe)"], "result": "int" }""", "not an IORING_OP_ name")]
    [InlineData("""{ "name": "Nop", "opcode": "IORING_OP_NOP", "doc": "d", "params": [], "prep": ["io_uring_prep_nop(sqe)"], "result": "PipeFds" }""", "needs a produce expression")]
    [InlineData("""{ "name": "Nop", "opcode": "IORING_OP_NOP", "doc": "d", "params": [ { "name": "length", "kind": "length", "of": "buffer" } ], "prep": ["io_uring_prep_nop(sqe)"], "result": "int" }""", "is not a parameter")]
    [InlineData("""{ "name": "Nop", "opcode": "IORING_OP_NOP", "doc": "d", "params": [], "prep": ["io_uring_prep_nop(sqe)"], "result": "int", "entry": "elsewhere" }""", "entry is 'chain-hand', 'ring-hand' or absent")]
    [InlineData("""{ "name": "Nop", "opcode": "IORING_OP_NOP", "doc": "d", "params": [], "prep": ["io_uring_prep_nop(sqe)"], "result": "int", "pyStream": "Stream" }""", "has no stream")]
    [InlineData("""{ "name": "Nop", "opcode": "IORING_OP_NOP", "doc": "d", "params": [ { "name": "backoff", "kind": "backoff" } ], "prep": ["io_uring_prep_nop(sqe)"], "result": "int" }""", "only a stream takes")]
    public void A_bad_table_row_is_refused_with_a_message_naming_it(string row, string expected)
    {
        var table = JsonSerializer.Deserialize<OperationTable>($$"""{ "operations": [ {{row}} ] }""")!;
        var e = Assert.Throws<InvalidOperationException>(() => table.Validate());
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_stream_whose_Ring_method_is_written_by_hand_gets_every_other_surface()
    {
        var table = OperationTable.Load(RepoRoot);
        Assert.Equal("ring-hand", table.Operations.Single(o => o.Name == "AcceptMultishotResilient").Entry);
        Assert.DoesNotContain("AcceptMultishotResilient", new FacadeEmitter(table).EmitAll()[FacadeEmitter.RingEntryPoints]);
        Assert.Contains("r.StartStream(token, r.Ring.AcceptMultishotResilient(ScriptArguments.File(listenFd), ScriptArguments.Backoff(backoffInitialNs, backoffMaximumNs)))",
            new ScriptingEmitter(table).Emit());
        var python = new PythonEmitter(table).Emit();
        Assert.Contains("from .stream import ResilientAccept\n", python);
        Assert.Contains("    def accept_multishot_resilient(self, fd, backoff=None):\n", python);
        Assert.Contains("*a.backoff(backoff, \"backoff\"), stream=ResilientAccept)\n", python);
    }

    [Fact]
    public void A_prep_statement_naming_a_function_liburing_lacks_is_refused()
    {
        var table = JsonSerializer.Deserialize<OperationTable>("""
            { "operations": [ { "name": "Nop", "opcode": "IORING_OP_NOP", "doc": "d", "params": [], "prep": ["io_uring_prep_nothing(sqe)"], "result": "int" } ] }
            """)!;
        var e = Assert.Throws<InvalidOperationException>(() => OperationsCommand.CheckAgainstBindings(table, DefaultModel()));
        Assert.Contains("io_uring_prep_nothing", e.Message);
    }
}
