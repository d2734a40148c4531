using System.Text.Json;
using System.Text.Json.Serialization;

namespace Uring.Bindings.Tests.Infrastructure;

// The test's own reading of src/Bindings/Generated/api-model.json (schema: docs/model.md).
// Deliberately independent of the generator's types: the tests check the generator, so
// they must not share its code.

public sealed class ApiModel
{
    public string Generation { get; set; } = "";
    public string Library { get; set; } = "";
    public List<RecordModel> Records { get; set; } = [];
    public List<EnumModel> Enums { get; set; } = [];
    public List<ConstantModel> Constants { get; set; } = [];
    public List<FunctionModel> Functions { get; set; } = [];
    public List<ErrnoModel> Errnos { get; set; } = [];

    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    public static ApiModel Load(string path) =>
        JsonSerializer.Deserialize<ApiModel>(File.ReadAllText(path), s_json)
        ?? throw new InvalidDataException($"{path}: empty model");

    public RecordModel Record(string csName) =>
        Records.SingleOrDefault(r => r.CsName == csName)
        ?? throw new KeyNotFoundException($"record '{csName}' is not in the model");
}

public sealed class RecordModel
{
    public string CName { get; set; } = "";
    public string CsName { get; set; } = "";
    public string Kind { get; set; } = "";
    public long Size { get; set; }
    public long Align { get; set; }
    public string Header { get; set; } = "";
    public bool External { get; set; }
    public bool Opaque { get; set; }
    public bool Packed { get; set; }
    public List<FieldModel> Fields { get; set; } = [];
    public List<NestedRecordModel> Nested { get; set; } = [];

    public override string ToString() => CsName;
}

public sealed class FieldModel
{
    public string Name { get; set; } = "";
    public string CsName { get; set; } = "";
    public long Offset { get; set; }
    public long Size { get; set; }
    public string CType { get; set; } = "";
    public string CsType { get; set; } = "";
    public long? ArrayLength { get; set; }
    public bool Flexible { get; set; }
    public List<string> AnonymousPath { get; set; } = [];
    public bool Bitfield { get; set; }
}

/// <summary>An anonymous struct or union member, emitted as a nested C# type.</summary>
public sealed class NestedRecordModel
{
    public string CsName { get; set; } = "";
    public string FieldName { get; set; } = "";
    public string Kind { get; set; } = "";
    public long Offset { get; set; }
    public long Size { get; set; }
    public List<string> AnonymousPath { get; set; } = [];
}

public sealed class EnumModel
{
    public string? CName { get; set; }
    public string? CsName { get; set; }
    public string Underlying { get; set; } = "";
    public string? Header { get; set; }
    public List<EnumMemberModel> Members { get; set; } = [];

    /// <summary>Anonymous C enums have no C# enum type: their members are <c>Constants</c> fields.</summary>
    [JsonIgnore]
    public bool IsAnonymous => string.IsNullOrEmpty(CName) || string.IsNullOrEmpty(CsName) || CsName == "Constants";
}

public sealed class EnumMemberModel
{
    public string Name { get; set; } = "";
    public string Value { get; set; } = "";
}

public sealed class ConstantModel
{
    public string Name { get; set; } = "";
    public string Value { get; set; } = "";
    public string CType { get; set; } = "";
    public string CsType { get; set; } = "";
    public string? Header { get; set; }
}

public sealed class FunctionModel
{
    public string Name { get; set; } = "";
    public string ReturnCType { get; set; } = "";
    public string ReturnCsType { get; set; } = "";
    public List<ParameterModel> Parameters { get; set; } = [];
    public bool Inline { get; set; }
    public bool Exported { get; set; }
    public bool MayEnterKernel { get; set; }
    public List<string> Calls { get; set; } = [];
    public string? Header { get; set; }
}

public sealed class ErrnoModel
{
    public string Name { get; set; } = "";
    public int Value { get; set; }
    public string? Message { get; set; }
    public string Header { get; set; } = "";
    public string? AliasOf { get; set; }
}

public sealed class ParameterModel
{
    public string Name { get; set; } = "";
    public string CType { get; set; } = "";
    public string CsType { get; set; } = "";
}
