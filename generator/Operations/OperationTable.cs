using System.Text.Json;
using System.Text.Json.Serialization;

namespace Uring.Generator.Operations;

/// <summary>
/// The operation table (<c>src/Uring/Operations/operations.json</c>): every io_uring operation
/// the façade offers, declared once. The emitters derive the façade's operation kinds and entry
/// points, the C ABI, the Python surface and the documentation tables from it.
/// </summary>
internal sealed class OperationTable
{
    public const string RelativePath = "src/Uring/Operations/operations.json";

    [JsonPropertyName("about")] public string? About { get; init; }
    [JsonPropertyName("operations")] public List<OperationSpec> Operations { get; init; } = [];
    [JsonPropertyName("handWritten")] public List<HandWrittenSpec> HandWritten { get; init; } = [];
    [JsonPropertyName("ignored")] public List<IgnoredSpec> Ignored { get; init; } = [];

    public static OperationTable Load(string repoRoot)
    {
        var path = Path.Combine(repoRoot, RelativePath);
        var table = JsonSerializer.Deserialize<OperationTable>(File.ReadAllText(path), new JsonSerializerOptions
        {
            ReadCommentHandling = JsonCommentHandling.Skip,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        }) ?? throw new InvalidOperationException($"{RelativePath} is empty.");
        table.Validate();
        return table;
    }

    /// <summary>Checks what the emitters rely on; each message names the operation and the field.</summary>
    public void Validate()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var op in Operations)
        {
            if (string.IsNullOrEmpty(op.Name) || !char.IsUpper(op.Name[0]))
                throw new InvalidOperationException($"operations.json: an operation needs a PascalCase name (got '{op.Name}').");
            if (!names.Add(op.Name))
                throw new InvalidOperationException($"operations.json: '{op.Name}' is declared twice; an operation has one name.");
            if (!op.Opcode.StartsWith("IORING_OP_", StringComparison.Ordinal))
                throw new InvalidOperationException($"operations.json: {op.Name}: opcode '{op.Opcode}' is not an IORING_OP_ name.");
            if (string.IsNullOrWhiteSpace(op.Doc))
                throw new InvalidOperationException($"operations.json: {op.Name} has no doc.");
            if (op.Stream is null && op.Prep.Count == 0)
                throw new InvalidOperationException($"operations.json: {op.Name} has no prep (or stream).");
            if (string.IsNullOrEmpty(op.Result))
                throw new InvalidOperationException($"operations.json: {op.Name} has no result type.");
            if (op.Result != "int" && op.Produce is null && op.Stream is null)
                throw new InvalidOperationException($"operations.json: {op.Name}: a {op.Result} result needs a produce expression.");
            if (op.Errors is not (null or "produce"))
                throw new InvalidOperationException($"operations.json: {op.Name}: errors is 'produce' or absent.");
            if (op.Entry is not (null or "chain-hand" or "ring-hand"))
                throw new InvalidOperationException($"operations.json: {op.Name}: entry is 'chain-hand', 'ring-hand' or absent.");
            if (op.PyStream is not null && op.Stream is null)
                throw new InvalidOperationException($"operations.json: {op.Name}: pyStream names the Python class of a stream, but the operation has no stream.");
            if (op.Core is not (null or "partial"))
                throw new InvalidOperationException($"operations.json: {op.Name}: core is 'partial' or absent.");
            var parameters = new HashSet<string>(StringComparer.Ordinal);
            var seenDefault = false;
            foreach (var p in op.Params)
            {
                if (!parameters.Add(p.Name))
                    throw new InvalidOperationException($"operations.json: {op.Name}: parameter '{p.Name}' twice.");
                _ = ParameterKind.Of(op, p); // throws for an unknown kind or missing options
                if (p.Kind == "backoff" && op.Stream is null)
                    throw new InvalidOperationException($"operations.json: {op.Name}: '{p.Name}' is a backoff, which only a stream takes (it has no SQE form).");
                if (p.Default is not null)
                    seenDefault = true;
                else if (seenDefault && !p.Optional)
                    throw new InvalidOperationException($"operations.json: {op.Name}: '{p.Name}' has no default but follows one that has.");
                if (p.Of is not null && !op.Params.Any(q => q.Name == p.Of))
                    throw new InvalidOperationException($"operations.json: {op.Name}: '{p.Name}' is the length of '{p.Of}', which is not a parameter.");
            }
        }
    }

    /// <summary>Every io_uring_prep_* function the table accounts for: named in a prep, listed by a hand-written core, or ignored.</summary>
    public IReadOnlyDictionary<string, string> AccountedPrepFunctions()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var op in Operations)
        {
            foreach (var line in op.Prep)
                foreach (var function in PrepFunctionsIn(line))
                    map.TryAdd(function, op.Name);
            foreach (var function in op.PrepFunctions)
                map.TryAdd(function, op.Name);
        }
        foreach (var hand in HandWritten)
            foreach (var function in hand.PrepFunctions)
                map.TryAdd(function, hand.Opcode);
        foreach (var ignored in Ignored)
            map.TryAdd(ignored.Function, "ignored: " + ignored.Reason);
        return map;
    }

    public static IEnumerable<string> PrepFunctionsIn(string statement)
    {
        var i = 0;
        while ((i = statement.IndexOf("io_uring_", i, StringComparison.Ordinal)) >= 0)
        {
            var end = i;
            while (end < statement.Length && (char.IsLetterOrDigit(statement[end]) || statement[end] == '_'))
                end++;
            yield return statement[i..end];
            i = end;
        }
    }
}

/// <summary>One operation: one kind, one C# name, one Python name (<see cref="Naming.Python"/>).</summary>
internal sealed class OperationSpec
{
    [JsonPropertyName("name")] public string Name { get; init; } = "";
    [JsonPropertyName("opcode")] public string Opcode { get; init; } = "";
    [JsonPropertyName("doc")] public string Doc { get; init; } = "";
    [JsonPropertyName("params")] public List<ParameterSpec> Params { get; init; } = [];
    /// <summary>C# statements that fill the SQE; parameter names stand for the kind's fields.</summary>
    [JsonPropertyName("prep")] public List<string> Prep { get; init; } = [];
    [JsonPropertyName("result")] public string Result { get; init; } = "";
    /// <summary>C# expression computing the result (default for int: <c>Res</c>).</summary>
    [JsonPropertyName("produce")] public string? Produce { get; init; }
    /// <summary>"produce": a negative res reaches the produce expression instead of becoming an exception.</summary>
    [JsonPropertyName("errors")] public string? Errors { get; init; }
    [JsonPropertyName("sqeFlags")] public string? SqeFlags { get; init; }
    /// <summary>A static method called instead of the operation when the kernel lacks the opcode.</summary>
    [JsonPropertyName("fallback")] public string? Fallback { get; init; }
    /// <summary>"partial": a hand-written part of the kind adds hooks (see the kind's .cs file).</summary>
    [JsonPropertyName("core")] public string? Core { get; init; }
    /// <summary>"chain-hand": no Ring entry point; LinkedChain's is written by hand. "ring-hand": the C#
    /// Ring entry point is written by hand (it returns more than the table can say); the C ABI, the
    /// Python method and the docs are generated as for any other operation.</summary>
    [JsonPropertyName("entry")] public string? Entry { get; init; }
    /// <summary>A multishot stream: the hand-written stream type whose Open(ring, …) the entry point calls.</summary>
    [JsonPropertyName("stream")] public string? Stream { get; init; }
    /// <summary>Python: the class of <c>uring.stream</c> a stream's method returns (default <c>Stream</c>).</summary>
    [JsonPropertyName("pyStream")] public string? PyStream { get; init; }
    /// <summary>Scripts get a second C entry point with 32-bit arguments that can also wait for the result (hot paths).</summary>
    [JsonPropertyName("fast")] public bool Fast { get; init; }
    /// <summary>Python: the parameters' order when it differs from C#'s (names as in the table).</summary>
    [JsonPropertyName("pyOrder")] public List<string>? PyOrder { get; init; }
    /// <summary>Prep functions a hand-written core calls (for the coverage check).</summary>
    [JsonPropertyName("prepFunctions")] public List<string> PrepFunctions { get; init; } = [];

    public string KindName => Name + "Operation";
    public bool IsStream => Stream is not null;
    /// <summary>A Ring method exists (in C#, generated or hand-written, and in Python).</summary>
    public bool HasRingEntry => Entry is not "chain-hand";
    /// <summary>The C# Ring method is generated.</summary>
    public bool GeneratesRingEntry => Entry is null;
    public string PythonName => Naming.Python(Name);
    public bool IsChainable => Stream is null;
}

internal sealed class ParameterSpec
{
    [JsonPropertyName("name")] public string Name { get; init; } = "";
    [JsonPropertyName("kind")] public string Kind { get; init; } = "";
    [JsonPropertyName("default")] public string? Default { get; init; }
    [JsonPropertyName("doc")] public string? Doc { get; init; }
    /// <summary>length: the buffer parameter it measures.</summary>
    [JsonPropertyName("of")] public string? Of { get; init; }
    /// <summary>buffers: the most a list may hold.</summary>
    [JsonPropertyName("max")] public int? Max { get; init; }
    /// <summary>long/int: the smallest value allowed (a C# literal).</summary>
    [JsonPropertyName("min")] public string? Min { get; init; }
    /// <summary>buffer: the kernel only reads it (scripts may pass bytes).</summary>
    [JsonPropertyName("input")] public bool Input { get; init; }
    /// <summary>buffer/buffers: the kernel only reads it, so read-only memory
    /// (<c>OwnershipMemory.FromReadOnlyMemory</c>) may be lent; implied by <see cref="Input"/>.
    /// Without it, a read-only buffer is refused.</summary>
    [JsonPropertyName("readOnly")] public bool ReadOnly { get; init; }

    /// <summary>The kernel only reads this buffer.</summary>
    public bool KernelOnlyReads => Input || ReadOnly;
    /// <summary>fd: a directory fd (AT_FDCWD allowed, registered files not).</summary>
    [JsonPropertyName("directory")] public bool Directory { get; init; }
    /// <summary>endpoint: may be null.</summary>
    [JsonPropertyName("optional")] public bool Optional { get; init; }
    /// <summary>Python: the parameter's name when it differs from the snake_case of the C# name.</summary>
    [JsonPropertyName("pyName")] public string? PyName { get; init; }
    /// <summary>Python: the default (a Python expression) when it differs from the C# one.</summary>
    [JsonPropertyName("pyDefault")] public string? PyDefault { get; init; }
    /// <summary>enum: the C# enum type.</summary>
    [JsonPropertyName("type")] public string? Type { get; init; }
    /// <summary>enum: the integer type the kernel gets (int or uint).</summary>
    [JsonPropertyName("native")] public string? Native { get; init; }
    /// <summary>enum: a static method mapping the C# value to the kernel's number (may throw for unsupported values).</summary>
    [JsonPropertyName("convert")] public string? Convert { get; init; }
}

internal sealed class HandWrittenSpec
{
    [JsonPropertyName("opcode")] public string Opcode { get; init; } = "";
    [JsonPropertyName("prepFunctions")] public List<string> PrepFunctions { get; init; } = [];
    [JsonPropertyName("where")] public string Where { get; init; } = "";
}

internal sealed class IgnoredSpec
{
    [JsonPropertyName("function")] public string Function { get; init; } = "";
    [JsonPropertyName("reason")] public string Reason { get; init; } = "";
}
