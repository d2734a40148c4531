using System.Reflection;
using Uring.Bindings.Tests.Infrastructure;

namespace Uring.Bindings.Tests;

/// <summary>
/// Every model constant and enum member: gcc's value (and the C type's size and signedness)
/// against the model's value and the generated C# constant or enum member.
/// </summary>
public sealed class ConstantTests
{
    private static readonly Type? s_constants = ClrLayout.FindType("Constants");

    public static TheoryData<string> Families() => new() { "IORING_OP_", "IOSQE_", "IORING_SETUP_" };

    private static IEnumerable<string> AllConstantNames() =>
        TestModel.Current.Constants.Select(c => c.Name)
            .Concat(TestModel.Current.Enums.SelectMany(e => e.Members.Select(m => m.Name)));

    [Theory]
    [MemberData(nameof(Families))]
    public void Required_family_is_in_the_model_and_in_CSharp(string prefix)
    {
        var names = AllConstantNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        Assert.True(names.Count > 0, $"the model has no {prefix}* constants or enum members");
        // Every member of the family must be reachable from C#: a Constants field or an enum member.
        var missing = names.Where(n => FindCsConstant(n) is null).ToList();
        Assert.True(missing.Count == 0, $"{prefix}* names with no C# constant or enum member: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Well_known_values_are_right()
    {
        // A few values fixed by the io_uring ABI itself (independent of gcc and of the model),
        // so that this suite cannot agree with a consistently wrong probe.
        var table = new Mismatches("name", "check", "expected", "C#", "source");
        (string Name, Int128 Value)[] known =
        [
            ("IORING_OP_NOP", 0), ("IORING_OP_READV", 1), ("IORING_OP_WRITEV", 2), ("IORING_OP_READ", 22),
            ("IORING_OP_WRITE", 23), ("IORING_OP_ASYNC_CANCEL", 14),
            ("IOSQE_FIXED_FILE", 1), ("IOSQE_IO_DRAIN", 2), ("IOSQE_IO_LINK", 4), ("IOSQE_BUFFER_SELECT", 32),
            ("IORING_SETUP_IOPOLL", 1), ("IORING_SETUP_SQPOLL", 2), ("IORING_SETUP_CQSIZE", 8),
            ("IORING_SETUP_SINGLE_ISSUER", 1 << 12), ("IORING_SETUP_DEFER_TASKRUN", 1 << 13),
            ("IORING_CQE_F_MORE", 2), ("IORING_FEAT_SINGLE_MMAP", 1), ("IORING_FILE_INDEX_ALLOC", uint.MaxValue),
        ];
        foreach (var (name, value) in known)
        {
            var field = FindCsConstant(name);
            var cs = field is null ? null : CsTypes.ToInt128(field.GetRawConstantValue());
            if (cs != value)
                table.Add(name, "value", value, cs?.ToString() ?? "missing", field is null ? "" : $"{field.DeclaringType!.Name}.{field.Name}");
        }
        table.AssertNone("well-known io_uring constants");
    }

    /// <summary>For every pinned generation with liburing-ffi.so.2: its generated and compiled bindings.</summary>
    [Theory]
    [MemberData(nameof(PinnedBindings.FfiGenerationData), MemberType = typeof(PinnedBindings))]
    public void Constants_match_gcc(string generation)
    {
        var bindings = PinnedBindings.For(generation);
        var model = bindings.Model;
        var gcc = bindings.Gcc;
        var constants = bindings.FindType("Constants");
        Assert.NotNull(constants);
        Assert.True(model.Constants.Count > 0, "the model has no constants");
        var table = new Mismatches("constant", "check", "gcc", "model", "C#");
        foreach (var constant in model.Constants)
        {
            var field = constants!.GetField(constant.Name, BindingFlags.Public | BindingFlags.Static);
            if (field is null || !field.IsLiteral)
            {
                table.Add(constant.Name, "const field of Constants", "", "", field is null ? "missing" : "not const");
                continue;
            }
            var declared = bindings.Resolve(constant.CsType);
            if (declared != field.FieldType)
                table.Add(constant.Name, "C# type", constant.CType, constant.CsType, field.FieldType.Name);

            switch (CsTypes.KindOf(constant.CsType))
            {
                case CsTypes.Kind.String:
                    {
                        var expected = gcc.StringConstants[constant.Name];
                        var cs = field.GetRawConstantValue() as string;
                        if (constant.Value != expected || cs != expected)
                            table.Add(constant.Name, "string value", expected, constant.Value, cs);
                        break;
                    }
                case CsTypes.Kind.Float:
                    {
                        var expected = gcc.FloatConstants[constant.Name];
                        var cs = Convert.ToDouble(field.GetRawConstantValue());
                        if (double.Parse(constant.Value, System.Globalization.CultureInfo.InvariantCulture) != expected || cs != expected)
                            table.Add(constant.Name, "value", expected, constant.Value, cs);
                        break;
                    }
                default:
                    CompareInteger(table, constant.Name, gcc.Constants[constant.Name], constant.Value, field, modelCType: constant.CType);
                    break;
            }
        }
        table.AssertNone($"{model.Constants.Count} constants of generation {generation} (liburing {model.Generation})");
    }

    [Theory]
    [MemberData(nameof(PinnedBindings.FfiGenerationData), MemberType = typeof(PinnedBindings))]
    public void Enums_match_gcc(string generation)
    {
        var bindings = PinnedBindings.For(generation);
        var model = bindings.Model;
        var gcc = bindings.Gcc;
        var constants = bindings.FindType("Constants");
        Assert.True(model.Enums.Count > 0, "the model has no enums");
        var table = new Mismatches("enum member", "check", "gcc", "model", "C#");
        for (var e = 0; e < model.Enums.Count; e++)
        {
            var en = model.Enums[e];
            var facts = gcc.Enums[e];
            Type? type = null;
            if (!en.IsAnonymous)
            {
                type = bindings.FindType(en.CsName!);
                if (type is null || !type.IsEnum)
                {
                    table.Add(en.CName, "C# enum type", "", en.CsName, type is null ? "missing" : "not an enum");
                    type = null;
                }
                else
                {
                    var underlying = Enum.GetUnderlyingType(type);
                    if (bindings.Resolve(en.Underlying) != underlying)
                        table.Add(en.CName, "underlying type", "", en.Underlying, underlying.Name);
                    if (CsTypes.IntegerShape(underlying) is var (size, signed) && (size != facts.Size || signed != facts.Signed))
                        table.Add(en.CName, "size/signedness", $"{facts.Size}/{Sign(facts.Signed!.Value)}", en.Underlying, $"{size}/{Sign(signed)}");
                }
            }
            foreach (var member in en.Members)
            {
                FieldInfo? field = type is not null
                    ? type.GetField(member.Name, BindingFlags.Public | BindingFlags.Static)
                    : en.IsAnonymous ? constants?.GetField(member.Name, BindingFlags.Public | BindingFlags.Static) : null;
                if (field is null)
                {
                    if (type is not null || en.IsAnonymous)
                        table.Add(member.Name, en.IsAnonymous ? "const field of Constants" : $"member of {en.CsName}", "", member.Value, "missing");
                    continue;
                }
                // Enum members carry the enum's underlying type; their C type is int (or wider), so only the value is compared.
                CompareInteger(table, member.Name, facts.Members[member.Name], member.Value, field, modelCType: en.IsAnonymous ? "int (enumerator)" : null);
            }
        }
        table.AssertNone($"{model.Enums.Count} enums, {model.Enums.Sum(e => e.Members.Count)} members of generation {generation}");
    }

    /// <summary>
    /// The object-like macros of the io_uring families that gcc's preprocessor sees in the pinned
    /// headers must all be in the model: the generator may not silently drop a flag.
    /// </summary>
    [Theory]
    [MemberData(nameof(PinnedBindings.FfiGenerationData), MemberType = typeof(PinnedBindings))]
    public void Model_has_every_io_uring_macro_that_gcc_defines(string generation)
    {
        var bindings = PinnedBindings.For(generation);
        var model = bindings.Model;
        var macros = PreprocessorMacros(bindings.Sysroot);
        string[] prefixes = ["IORING_", "IOSQE_", "IOU_", "IO_URING_", "LIBURING_", "__IORING_", "__IO_URING_"];
        var known = model.Constants.Select(c => c.Name).Concat(model.Enums.SelectMany(e => e.Members.Select(m => m.Name))).ToHashSet();
        var missing = macros
            .Where(m => prefixes.Any(p => m.Name.StartsWith(p, StringComparison.Ordinal)))
            .Where(m => m.Body.Length > 0 && !known.Contains(m.Name))
            .Select(m => $"{m.Name} = {m.Body}")
            .ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} io_uring macro(s) defined by the headers but absent from the model:\n{string.Join('\n', missing)}");
    }

    private static List<(string Name, string Body)> PreprocessorMacros(string sysroot)
    {
        var dir = Directory.CreateTempSubdirectory("uring-macros-");
        try
        {
            var c = Path.Combine(dir.FullName, "macros.c");
            File.WriteAllText(c, "#include <liburing.h>\n");
            var result = Processes.Run("gcc", ["-E", "-dM", .. GccProbe.IncludeFlags(sysroot), c], dir.FullName, TimeSpan.FromMinutes(1));
            Assert.True(result.ExitCode == 0, result.StdErr);
            var list = new List<(string, string)>();
            foreach (var line in result.StdOut.Split('\n'))
            {
                if (!line.StartsWith("#define ", StringComparison.Ordinal))
                    continue;
                var rest = line["#define ".Length..];
                var nameEnd = rest.IndexOfAny([' ', '(']);
                if (nameEnd < 0)
                    continue; // defined empty
                if (rest[nameEnd] == '(')
                    continue; // function-like
                list.Add((rest[..nameEnd], rest[(nameEnd + 1)..].Trim()));
            }
            return list;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Value always; with <paramref name="modelCType"/>, also that the C# type has the size and
    /// signedness of the C expression's type (an enumerator's C type is int, C11 6.7.2.2p3).</summary>
    private static void CompareInteger(Mismatches table, string name, GccInteger gcc, string modelValue, FieldInfo field, string? modelCType)
    {
        var model = CsTypes.ParseModelValue(modelValue);
        var cs = CsTypes.ToInt128(field.GetRawConstantValue());
        if (model != gcc.Value || cs != gcc.Value)
            table.Add(name, "value", gcc.Value, model == gcc.Value ? $"{model}" : $"{model} ✗", cs == gcc.Value ? $"{cs}" : $"{cs?.ToString() ?? "not an integer"} ✗");
        if (modelCType is not null && CsTypes.IntegerShape(field.FieldType) is var (size, signed) && (size != gcc.Size || signed != gcc.Signed))
            table.Add(name, "C type size/signedness", $"{gcc.Size}/{Sign(gcc.Signed)}", modelCType, $"{size}/{Sign(signed)} ({field.FieldType.Name}) ✗");
    }

    private static string Sign(bool signed) => signed ? "signed" : "unsigned";

    /// <summary>A name as C# sees it: a Constants field, or a member of any generated enum.</summary>
    internal static FieldInfo? FindCsConstant(string name)
    {
        var field = s_constants?.GetField(name, BindingFlags.Public | BindingFlags.Static);
        if (field is not null)
            return field;
        foreach (var en in TestModel.Current.Enums.Where(e => !e.IsAnonymous && e.Members.Any(m => m.Name == name)))
        {
            field = ClrLayout.FindType(en.CsName!)?.GetField(name, BindingFlags.Public | BindingFlags.Static);
            if (field is not null)
                return field;
        }
        return null;
    }
}
