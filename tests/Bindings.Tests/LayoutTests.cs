using System.Reflection;
using Uring.Bindings.Tests.Infrastructure;

namespace Uring.Bindings.Tests;

/// <summary>
/// Every record of the model: sizeof, _Alignof and offsetof/sizeof of every field as gcc
/// computes them against the pinned headers, compared with libclang's numbers in the model
/// and with the generated C# structs.
/// </summary>
public sealed class LayoutTests
{
    public static TheoryData<string> Records()
    {
        var data = new TheoryData<string>();
        foreach (var record in TestModel.Current.Records)
            data.Add(record.CsName);
        return data;
    }

    [Fact]
    public void Model_has_the_core_records()
    {
        var names = TestModel.Current.Records.Select(r => r.CsName).ToHashSet();
        string[] required = ["io_uring_sqe", "io_uring_cqe", "io_uring_params", "io_uring", "io_uring_sq", "io_uring_cq",
                             "io_uring_buf_ring", "io_uring_buf", "io_uring_probe", "iovec"];
        var missing = required.Where(r => !names.Contains(r)).ToList();
        Assert.True(missing.Count == 0, $"records missing from the model: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Model_has_the_flexible_members_named_in_the_issue()
    {
        var flexible = TestModel.Current.Records
            .SelectMany(r => r.Fields.Where(f => f.Flexible).Select(f => $"{r.CsName}.{f.Name}"))
            .ToHashSet();
        var missing = new[] { "io_uring_cqe.big_cqe", "io_uring_buf_ring.bufs", "io_uring_sqe.cmd" }.Where(f => !flexible.Contains(f)).ToList();
        Assert.True(missing.Count == 0, $"not flexible members in the model: {string.Join(", ", missing)}");
    }

    [Theory]
    [MemberData(nameof(Records))]
    public void Record_layout_matches_gcc(string csName)
    {
        var bindings = PinnedBindings.Default;
        var record = bindings.Model.Record(csName);
        var table = new Mismatches("member", "check", "gcc", "model", "C#");
        CheckRecord(bindings, record, table, prefix: "");
        table.AssertNone($"layout of {record.CName} ({record.Header})");
    }

    /// <summary>The same checks for every record of every pinned generation that has liburing-ffi.so.2,
    /// its bindings generated and compiled for the test (the default's are the checked-in ones).</summary>
    [Theory]
    [MemberData(nameof(PinnedBindings.FfiGenerationData), MemberType = typeof(PinnedBindings))]
    public void Every_record_of_the_generation_matches_gcc(string generation)
    {
        var bindings = PinnedBindings.For(generation);
        Assert.True(bindings.Model.Records.Count > 0, $"generation {generation}: the model has no records");
        var table = new Mismatches("record: member", "check", "gcc", "model", "C#");
        foreach (var record in bindings.Model.Records)
            CheckRecord(bindings, record, table, prefix: record.CsName + ": ");
        table.AssertNone($"layouts of {bindings.Model.Records.Count} records of generation {generation} (liburing {bindings.Model.Generation})");
    }

    private static void CheckRecord(GenerationBindings bindings, RecordModel record, Mismatches all, string prefix)
    {
        var table = new Mismatches("member", "check", "gcc", "model", "C#");
        CheckRecord(bindings, record, table);
        foreach (var row in table.Rows)
            all.Add([prefix + row[0], .. row[1..]]);
    }

    private static void CheckRecord(GenerationBindings bindings, RecordModel record, Mismatches table)
    {
        var csName = record.CsName;
        var type = bindings.FindType(csName);
        if (type is null)
            table.Add("(type)", "exists", "", "", $"no type Uring.Bindings.{csName}");
        else if (!type.IsValueType)
            table.Add("(type)", "is a struct", "", "", type.IsClass ? "class" : "not a value type");

        if (GccProbe.IsIncomplete(record))
        {
            // A handle type for a struct the headers only declare: gcc must agree that it has no size,
            // and C# must not give it fields that would invite dereferencing.
            var (incomplete, diagnostics) = GccProbe.IsIncompleteInC(bindings.Model, record, bindings.Sysroot);
            if (!incomplete)
                table.Add("(record)", "incomplete in C", "complete", "incomplete (size 0)", diagnostics.Trim());
            if (record.Fields.Count > 0)
                table.Add("(record)", "fields of an incomplete type", "none", record.Fields.Count, "");
            if (type is { IsValueType: true } && ClrLayout.InstanceFields(type).Count > 0)
                table.Add("(record)", "C# fields of an incomplete type", "none", "", string.Join(", ", ClrLayout.InstanceFields(type).Select(f => f.Name)));
            return;
        }
        var gcc = bindings.Gcc.Records[csName];

        var usable = type is { IsValueType: true };
        var csSize = usable ? ClrLayout.SizeOf(type!) : (long?)null;
        var csAlign = usable ? ClrLayout.AlignOf(type!) : (long?)null;
        Check(table, "(record)", "sizeof", gcc.Size, record.Size, csSize);
        Check(table, "(record)", "_Alignof", gcc.Align, record.Align, csAlign);
        if (usable)
        {
            var marshalAlign = ClrLayout.MarshalAlignOf(type!);
            if (marshalAlign != gcc.Align)
                table.Add("(record)", "_Alignof via Marshal.OffsetOf", gcc.Align, record.Align, marshalAlign);
        }

        if (!record.Opaque)
        {
            foreach (var field in record.Fields.Where(f => !f.Bitfield))
            {
                var member = field.AnonymousPath.Count == 0 ? field.Name : $"{field.Name} (in {string.Join('.', field.AnonymousPath)})";
                if (!gcc.Fields.TryGetValue(field.Name, out var g))
                {
                    table.Add(member, "printed by gcc", "missing", "", "");
                    continue;
                }
                if (field.Flexible)
                    CheckFlexible(table, type, usable, field, member, g);
                else
                    CheckField(bindings, table, type, usable, field, member, g);
            }
            foreach (var nested in record.Nested)
                CheckNested(table, record, gcc, type, usable, nested);
            foreach (var field in record.Fields.Where(f => !f.Bitfield && !f.Flexible && f.AnonymousPath.Count > 0))
                CheckThroughNestedTypes(table, type, usable, field, gcc.Fields.GetValueOrDefault(field.Name));
        }
    }

    /// <summary>
    /// An anonymous struct/union member has no name in C, but it starts where its members do
    /// (a struct's first member and every union member sit at its relative offset 0) and it
    /// spans all of them: so gcc still fixes its offset, and bounds its size.
    /// </summary>
    private static void CheckNested(Mismatches table, RecordModel record, GccRecord gcc, Type? type, bool usable, NestedRecordModel nested)
    {
        var path = nested.AnonymousPath.Append(nested.FieldName).ToList();
        var label = $"{string.Join('.', path)} (anonymous {nested.Kind})";
        var inside = record.Fields.Where(f => f.AnonymousPath.Count >= path.Count && f.AnonymousPath.Take(path.Count).SequenceEqual(path)).ToList();
        long? gccOffset = null;
        if (inside.Count > 0 && inside.All(f => !f.Bitfield && gcc.Fields.ContainsKey(f.Name)))
        {
            gccOffset = inside.Min(f => gcc.Fields[f.Name].Offset);
            var end = inside.Where(f => !f.Flexible).Select(f => gcc.Fields[f.Name].Offset + gcc.Fields[f.Name].Size).DefaultIfEmpty(gccOffset.Value).Max();
            if (gccOffset != nested.Offset)
                table.Add(label, "offset (first member's offsetof)", gccOffset, $"{nested.Offset} ✗", "");
            if (end - gccOffset.Value > nested.Size)
                table.Add(label, "size covers its members", $">= {end - gccOffset.Value}", $"{nested.Size} ✗", "");
        }
        if (!usable)
            return;
        var nestedType = type!.GetNestedType(nested.CsName, System.Reflection.BindingFlags.Public);
        if (nestedType is null)
        {
            table.Add(label, "C# nested type", "", nested.CsName, "missing");
            return;
        }
        var size = ClrLayout.SizeOf(nestedType);
        if (size != nested.Size)
            table.Add(label, "sizeof nested type", "", nested.Size, $"{size} ✗");
        var (container, offset, error) = Walk(type, nested.AnonymousPath);
        var member = container is null ? null : ClrLayout.InstanceField(container, nested.FieldName);
        if (error is not null || member is null)
            table.Add(label, "C# member path", "", string.Join('.', path), error ?? $"no field '{nested.FieldName}' in {container!.Name}");
        else if (member.FieldType != nestedType)
            table.Add(label, "C# member type", "", nested.CsName, member.FieldType.Name);
        else if (gccOffset is { } g && offset + ClrLayout.OffsetOf(container!, member).Offset != g)
            table.Add(label, "offset of the C# member", g, nested.Offset, $"{offset + ClrLayout.OffsetOf(container!, member).Offset} ✗");
    }

    /// <summary>A flattened field must also be right when reached through the nested types (sqe._Anonymous1._Anonymous2.cmd_op).</summary>
    private static void CheckThroughNestedTypes(Mismatches table, Type? type, bool usable, FieldModel field, GccField? gcc)
    {
        if (!usable || gcc is null)
            return;
        var label = $"{string.Join('.', field.AnonymousPath)}.{field.CsName}";
        var (container, offset, error) = Walk(type!, field.AnonymousPath);
        var member = container is null ? null : ClrLayout.InstanceField(container, field.CsName);
        if (error is not null || member is null)
        {
            table.Add(label, "C# member path", "", "", error ?? $"no field '{field.CsName}' in {container!.Name}");
            return;
        }
        var absolute = offset + ClrLayout.OffsetOf(container!, member).Offset;
        if (absolute != gcc.Offset)
            table.Add(label, "offsetof via nested types", gcc.Offset, field.Offset, $"{absolute} ✗");
        var size = ClrLayout.SizeOf(member.FieldType);
        if (size != gcc.Size)
            table.Add(label, "sizeof via nested types", gcc.Size, field.Size, $"{size} ✗");
    }

    /// <summary>Follows anonymous-member fields (_Anonymous1, _Anonymous2, …) from a record, summing their offsets.</summary>
    private static (Type? Container, long Offset, string? Error) Walk(Type type, IReadOnlyList<string> path)
    {
        var current = type;
        long offset = 0;
        foreach (var step in path)
        {
            var field = ClrLayout.InstanceField(current, step);
            if (field is null)
                return (null, 0, $"no field '{step}' in {current.Name}");
            offset += ClrLayout.OffsetOf(current, field).Offset;
            current = field.FieldType;
        }
        return (current, offset, null);
    }

    private static void CheckField(GenerationBindings bindings, Mismatches table, Type? type, bool usable, FieldModel field, string member, GccField g)
    {
        long? csOffset = null, csSize = null;
        if (usable)
        {
            var info = ClrLayout.InstanceField(type!, field.CsName);
            if (info is null)
            {
                table.Add(member, "C# field", "", "", $"no field '{field.CsName}'");
            }
            else
            {
                var (offset, declared) = ClrLayout.OffsetOf(type!, info);
                csOffset = offset;
                if (declared is { } d && d != offset)
                    table.Add(member, "[FieldOffset] vs Marshal.OffsetOf", g.Offset, field.Offset, $"{d} vs {offset}");
                csSize = ClrLayout.SizeOf(info.FieldType);
                CheckFieldType(bindings, table, field, member, g, info);
            }
        }
        Check(table, member, "offsetof", g.Offset, field.Offset, csOffset);
        Check(table, member, "sizeof", g.Size, field.Size, csSize);
    }

    /// <summary>
    /// Same size is not enough (__s32 as uint would pass): the C# type must be the model's csType,
    /// arrays must be fixed buffers of the right element and length, and integers must have the
    /// signedness gcc gives the C type. Plain <c>char</c> is exempt from the signedness check: its
    /// signedness is the platform's choice and the bindings treat char data as bytes.
    /// </summary>
    private static void CheckFieldType(GenerationBindings bindings, Mismatches table, FieldModel field, string member, GccField g, FieldInfo info)
    {
        Type? element = info.FieldType;
        if (field.ArrayLength is > 0)
        {
            var buffer = info.GetCustomAttribute<System.Runtime.CompilerServices.FixedBufferAttribute>();
            if (buffer is null)
            {
                table.Add(member, "array as fixed buffer", $"{field.CType}", field.ArrayLength, info.FieldType.Name);
                return;
            }
            if (buffer.Length != field.ArrayLength)
                table.Add(member, "array length", field.CType, field.ArrayLength, $"{buffer.Length} ✗");
            element = buffer.ElementType;
        }
        var expected = bindings.Resolve(field.CsType);
        if (expected is null && !field.CsType.StartsWith("delegate*", StringComparison.Ordinal))
            table.Add(member, "model csType is a known type", field.CType, field.CsType, element.Name);
        else if (expected is not null && expected != element)
            table.Add(member, "C# type", field.CType, field.CsType, $"{element.Name} ✗");
        var plainChar = field.CType == "char" || field.CType.StartsWith("char[", StringComparison.Ordinal);
        if (!plainChar && g.Signed is { } signed && CsTypes.IntegerShape(element) is var (_, csSigned) && csSigned != signed)
            table.Add(member, "signedness", signed ? "signed" : "unsigned", field.CsType, $"{(csSigned ? "signed" : "unsigned")} ✗");
    }

    private static void CheckFlexible(Mismatches table, Type? type, bool usable, FieldModel field, string member, GccField g)
    {
        long? csOffset = null, csElement = null;
        if (usable)
        {
            var accessor = ClrLayout.FlexibleAccessor(type!, field.CsName);
            if (accessor is null)
            {
                table.Add(member, "flexible accessor", "", "", $"no 'public static T* {field.CsName}({type!.Name}*)'");
            }
            else
            {
                (csOffset, csElement) = ClrLayout.FlexibleMemberOffset(type!, accessor);
            }
        }
        // The model's size for a flexible member is 0 (libclang); gcc cannot take sizeof of x[] at all,
        // so only the element size is compared, against the C# pointer's element type.
        Check(table, member, "offsetof (flexible)", g.Offset, field.Offset, csOffset);
        if (csElement is { } e && e != g.Size)
            table.Add(member, "sizeof element (flexible)", g.Size, "", e);
        if (field.ArrayLength is not (0 or null))
            table.Add(member, "flexible arrayLength", "0", field.ArrayLength, "");
    }

    /// <summary>gcc is the reference; the model and the C# value must both equal it
    /// (a null C# value was already reported as missing).</summary>
    private static void Check(Mismatches table, string member, string check, long gcc, long model, long? cs)
    {
        if (model != gcc || (cs is { } c && c != gcc))
            table.Add(member, check, gcc, model == gcc ? $"{model}" : $"{model} ✗", cs is null ? "n/a" : cs == gcc ? $"{cs}" : $"{cs} ✗");
    }
}
