using System.Text;

namespace Uring.Generator.Operations;

/// <summary>
/// Emits the C ABI of every operation (src/Scripting): one <c>[UnmanagedCallersOnly]</c> entry
/// point per operation taking a ring, an optional chain, a token and the operation's arguments
/// in C types; and, for the operations marked <c>fast</c>, a second entry point whose arguments
/// are all 32-bit integers (a ctypes caller converts those at half the cost) and which can wait
/// for the result in the same call.
/// </summary>
internal sealed class ScriptingEmitter(OperationTable table)
{
    public const string ExportsFile = "src/Scripting/Exports.Operations.g.cs";

    public string Emit()
    {
        var text = new StringBuilder(FacadeEmitter.Header("using System.Net.Sockets;\nusing System.Runtime.InteropServices;\n").Replace("namespace Uring;", "namespace Uring.Scripting;"));
        text.Append("// Every operation of the table: the ring, a chain (0: the operation starts alone), a token naming\n");
        text.Append("// the operation's completion, then its arguments. Errors return -errno with the details in the\n");
        text.Append("// thread's last error (ExportGuard); no exception crosses the boundary.\n");
        text.Append("public static unsafe partial class Exports\n{\n");
        var first = true;
        foreach (var op in table.Operations)
        {
            if (!first)
                text.Append('\n');
            first = false;
            AppendExport(text, op);
            if (op.Fast)
            {
                text.Append('\n');
                AppendFastExport(text, op);
            }
        }
        text.Append("}\n");
        return text.ToString();
    }

    /// <summary>The C entry point name of an export (NativeAOT exports it under this name).</summary>
    public static string EntryPoint(string exportName) => "uring_" + Naming.SnakeCase(exportName);

    private static void AppendExport(StringBuilder text, OperationSpec op)
    {
        var abi = op.Params.Select(p => AbiParameter.Of(op, p)).ToList();
        var parameters = new List<string> { "nint ring" };
        var cParameters = new List<string> { "intptr_t ring" };
        if (op.IsChainable)
        {
            parameters.Add("nint chain");
            cParameters.Add("intptr_t chain");
        }
        parameters.Add("ulong token");
        cParameters.Add("uint64_t token");
        foreach (var a in abi)
        {
            parameters.AddRange(a.Parameters.Select(p => $"{p.CsType} {p.Name}"));
            cParameters.AddRange(a.Parameters.Select(p => $"{p.CType} {Naming.SnakeCase(p.Name)}"));
        }
        var entry = EntryPoint(op.Name);
        text.Append($"    /// <summary><c>int {entry}({string.Join(", ", cParameters)})</c>: {CSharp.Xml(op.Doc)}</summary>\n");
        text.Append($"    [UnmanagedCallersOnly(EntryPoint = \"{entry}\")]\n");
        text.Append($"    public static int {op.Name}({string.Join(", ", parameters)})\n    {{\n");
        var args = string.Join(", ", abi.Select(a => a.Expression));
        var start = op.IsStream ? $"StartStream(token, r.Ring.{op.Name}({args}))"
            : !op.HasRingEntry ? $"Track(token, ScriptArguments.Chain(chain).{op.Name}({args}))"
            : $"Track(token, chain == 0 ? r.Ring.{op.Name}({args}) : ScriptArguments.Chain(chain).{op.Name}({args}))";
        text.Append($"        try {{ var r = ScriptArguments.Ring(ring, token); r.{start}; return 0; }}\n");
        text.Append("        catch (Exception e) { return ExportGuard.Fail(e); }\n    }\n");
    }

    private static void AppendFastExport(StringBuilder text, OperationSpec op)
    {
        var abi = op.Params.Select(p => AbiParameter.Of(op, p)).ToList();
        var parameters = new List<string> { "int ring", "int token" };
        foreach (var a in abi)
            parameters.AddRange(a.FastParameters.Select(p => $"int {p}"));
        parameters.Add("int waitMs");
        var name = op.Name + "I";
        var entry = EntryPoint(name);
        text.Append($"    /// <summary><c>int {entry}({string.Join(", ", parameters.Select(p => "int " + Naming.SnakeCase(p.Split(' ')[1])))})</c>: <see cref=\"{op.Name}\"/> with\n");
        text.Append("    /// 32-bit arguments (ring and buffer ids, 64-bit values split in halves). With <c>wait_ms</c> &gt;= 0 it also\n");
        text.Append("    /// drives the ring up to that long and returns the result, or <see cref=\"Pending\"/> (the operation goes on).</summary>\n");
        text.Append($"    [UnmanagedCallersOnly(EntryPoint = \"{entry}\")]\n");
        text.Append($"    public static int {name}({string.Join(", ", parameters)})\n    {{\n");
        var args = string.Join(", ", abi.Select(a => a.FastExpression));
        text.Append($"        try {{ var r = ScriptArguments.RingById(ring, token); return ScriptArguments.StartOrWait(r, (uint)token, r.Ring.{op.Name}({args}), waitMs); }}\n");
        text.Append("        catch (Exception e) { return ExportGuard.Fail(e); }\n    }\n");
    }
}

/// <summary>One table parameter at the C ABI: its C parameters, the conversion back to the façade's argument,
/// and (for fast entry points) its 32-bit form.</summary>
internal sealed record AbiParameter(IReadOnlyList<(string CsType, string CType, string Name)> Parameters, string Expression,
    IReadOnlyList<string> FastParameters, string FastExpression, string PythonKind)
{
    public static AbiParameter Of(OperationSpec op, ParameterSpec p)
    {
        var name = CSharp.Escape(p.Name);
        switch (p.Kind)
        {
            case "fd":
                return Int("int", "int", name, $"ScriptArguments.File({name})", "fd");
            case "rawfd":
                return Int("int", "int", name, name, "fd");
            case "registeredFile":
                return new([("int", "int", name)], $"new RegisteredFile({name})", [name], $"new RegisteredFile({name})", "registered_file");
            case "buffer":
                return new([("nint", "intptr_t", name)], $"ScriptArguments.Buffer({name})", [name], $"ScriptArguments.BufferById({name})", p.Input ? "buffer_in" : "buffer");
            case "buffers":
                return new([("nint*", "intptr_t*", name), ("int", "int", name + "Count")], $"ScriptArguments.Buffers({name}, {name}Count)", [], "", "buffers");
            case "registeredBuffer":
                return new([("nint", "intptr_t", name), ("int", "int", name + "Index")], $"ScriptArguments.RegisteredBuffer({name}, {name}Index)", [], "", "registered_buffer");
            case "length":
                return Int("int", "int", name, name, "length");
            case "offset":
                return new([("long", "int64_t", name)], name, [name + "Low", name + "High"], $"ScriptArguments.Join({name}Low, {name}High)", "offset");
            case "int":
                return Int("int", "int", name, name, "int");
            case "uint":
                return new([("uint", "uint32_t", name)], name, [name], $"(uint){name}", "uint");
            case "long":
                return new([("long", "int64_t", name)], name, [name + "Low", name + "High"], $"ScriptArguments.Join({name}Low, {name}High)", "long");
            case "enum":
                var conversion = p.Type == "AddressFamily" ? $"ScriptArguments.AddressFamily({name})" : $"({p.Type}){name}";
                return p.Native == "uint"
                    ? new([("uint", "uint32_t", name)], conversion, [name], $"({p.Type})(uint){name}", "uint")
                    : Int("int", "int", name, conversion, "int");
            case "path":
                return new([("byte*", "const char*", name)], $"ScriptArguments.Utf8({name}, \"{p.Name}\")", [], "", "path");
            case "endpoint":
                return new([("byte*", "const char*", name + "Host"), ("int", "int", name + "Port")],
                    p.Optional ? $"ScriptArguments.EndPoint({name}Host, {name}Port, optional: true)" : $"ScriptArguments.EndPoint({name}Host, {name}Port, optional: false)!", [], "", p.Optional ? "endpoint_optional" : "endpoint");
            case "timespan":
                return new([("long", "int64_t", name + "Ns")], $"ScriptArguments.Duration({name}Ns)", [], "", "seconds");
            case "deadline":
                return new([("long", "int64_t", name + "Ns")], $"ScriptArguments.WallClock({name}Ns)", [], "", "epoch_seconds");
            case "timestamp":
                return new([("long", "int64_t", name + "Ns")], $"ScriptArguments.Monotonic({name}Ns)", [], "", "monotonic_ns");
            case "bufferRing":
                return new([("nint", "intptr_t", name)], $"ScriptArguments.BufferRing({name})", [], "", "buffer_ring");
            case "backoff":
                return new([("long", "int64_t", name + "InitialNs"), ("long", "int64_t", name + "MaximumNs")],
                    $"ScriptArguments.Backoff({name}InitialNs, {name}MaximumNs)", [], "", "backoff");
            default:
                throw new InvalidOperationException($"operations.json: {op.Name}: parameter '{p.Name}' ({p.Kind}) has no C ABI form.");
        }
    }

    private static AbiParameter Int(string cs, string c, string name, string expression, string pythonKind) =>
        new([(cs, c, name)], expression, [name], expression, pythonKind);
}
