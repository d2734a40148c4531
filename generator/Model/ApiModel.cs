using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Uring.Generator.Model;

// The API model: everything the emitter and the diff need, as libclang reported it.
// Field order is declaration order in the headers, so serialised models diff cleanly.

public sealed record ApiModel(
    string Generation,
    string Library,
    IReadOnlyList<RecordModel> Records,
    IReadOnlyList<EnumModel> Enums,
    IReadOnlyList<ConstantModel> Constants,
    IReadOnlyList<FunctionModel> Functions,
    IReadOnlyList<ErrnoModel> Errnos,
    IReadOnlyList<string> Notes)
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string ToJson() => JsonSerializer.Serialize(this, s_json).Replace("\r\n", "\n") + "\n";

    public static ApiModel FromJson(string json) =>
        JsonSerializer.Deserialize<ApiModel>(json, s_json) ?? throw new InvalidDataException("empty model");

    public static ApiModel Load(string path) => FromJson(File.ReadAllText(path));
}

public sealed record RecordModel(
    string CName,
    string CsName,
    string Kind,
    long Size,
    long Align,
    string Header,
    bool External,
    bool Opaque,
    bool Packed,
    string? Doc,
    IReadOnlyList<FieldModel> Fields,
    IReadOnlyList<NestedRecordModel> Nested);

/// <summary>An anonymous struct or union member, emitted as a nested type.</summary>
public sealed record NestedRecordModel(
    string CsName,
    string FieldName,
    string Kind,
    long Offset,
    long Size,
    IReadOnlyList<string> AnonymousPath);

public sealed record FieldModel(
    string Name,
    string CsName,
    long Offset,
    long Size,
    string CType,
    string CsType,
    long? ArrayLength,
    bool Flexible,
    IReadOnlyList<string> AnonymousPath,
    bool Bitfield,
    string? Doc);

public sealed record EnumModel(
    string CName,
    string CsName,
    string Underlying,
    string Header,
    string? Doc,
    IReadOnlyList<EnumMemberModel> Members);

public sealed record EnumMemberModel(string Name, string Value);

public sealed record ConstantModel(string Name, string Value, string CType, string CsType, string Header);

public sealed record FunctionModel(
    string Name,
    string ReturnCType,
    string ReturnCsType,
    IReadOnlyList<ParameterModel> Parameters,
    bool Inline,
    bool Exported,
    bool MayEnterKernel,
    IReadOnlyList<string> Calls,
    string Header,
    string? Doc,
    string? ManPage = null);

public sealed record ParameterModel(string Name, string CType, string CsType);

/// <summary>One errno macro of the uapi headers; <see cref="AliasOf"/> names the first macro with
/// the same value (EWOULDBLOCK → EAGAIN), null for that first one.</summary>
public sealed record ErrnoModel(string Name, int Value, string? Message, string Header, string? AliasOf);
