namespace Uring.Bindings.Tests.Infrastructure;

/// <summary>The model's C# type spellings (csType) as CLR types.</summary>
public static class CsTypes
{
    public enum Kind { Integer, String, Float, Other }

    private static readonly Dictionary<string, Type> s_primitives = new()
    {
        ["sbyte"] = typeof(sbyte), ["byte"] = typeof(byte),
        ["short"] = typeof(short), ["ushort"] = typeof(ushort),
        ["int"] = typeof(int), ["uint"] = typeof(uint),
        ["long"] = typeof(long), ["ulong"] = typeof(ulong),
        ["nint"] = typeof(nint), ["nuint"] = typeof(nuint),
        ["char"] = typeof(char), ["bool"] = typeof(bool),
        ["float"] = typeof(float), ["double"] = typeof(double),
        ["string"] = typeof(string), ["void"] = typeof(void),
    };

    public static Kind KindOf(string csType) => csType switch
    {
        "string" => Kind.String,
        "float" or "double" => Kind.Float,
        "sbyte" or "byte" or "short" or "ushort" or "int" or "uint" or "long" or "ulong" or "nint" or "nuint" or "char" or "bool" => Kind.Integer,
        _ => Kind.Other,
    };

    /// <summary>Resolves "int", "io_uring_sqe*", "void**", "delegate* unmanaged&lt;…&gt;" (as IntPtr-sized pointer: null) …</summary>
    public static Type? Resolve(string csType) => Resolve(csType, ClrLayout.Bindings);

    /// <summary>As <see cref="Resolve(string)"/>, with generated types looked up in <paramref name="bindings"/>.</summary>
    public static Type? Resolve(string csType, System.Reflection.Assembly bindings)
    {
        var t = csType.Trim();
        if (t.StartsWith("delegate*", StringComparison.Ordinal))
            return null;
        var depth = 0;
        while (t.EndsWith('*'))
        {
            depth++;
            t = t[..^1].TrimEnd();
        }
        var type = s_primitives.GetValueOrDefault(t) ?? ClrLayout.FindType(bindings, t);
        for (var i = 0; type is not null && i < depth; i++)
            type = type.MakePointerType();
        return type;
    }

    /// <summary>Size and signedness of an integral CLR type (enums by their underlying type).</summary>
    public static (int Size, bool Signed)? IntegerShape(Type type)
    {
        if (type.IsEnum)
            type = Enum.GetUnderlyingType(type);
        return type switch
        {
            _ when type == typeof(sbyte) => (1, true),
            _ when type == typeof(byte) => (1, false),
            _ when type == typeof(bool) => (1, false),
            _ when type == typeof(short) => (2, true),
            _ when type == typeof(ushort) => (2, false),
            _ when type == typeof(char) => (2, false),
            _ when type == typeof(int) => (4, true),
            _ when type == typeof(uint) => (4, false),
            _ when type == typeof(long) => (8, true),
            _ when type == typeof(ulong) => (8, false),
            _ when type == typeof(nint) => (IntPtr.Size, true),
            _ when type == typeof(nuint) => (IntPtr.Size, false),
            _ => null,
        };
    }

    /// <summary>A boxed integral constant as an exact number.</summary>
    public static Int128? ToInt128(object? value) => value switch
    {
        sbyte v => v, byte v => v, short v => v, ushort v => v, char v => v,
        int v => v, uint v => v, long v => v, ulong v => v, bool v => v ? 1 : 0,
        nint v => (long)v, nuint v => (ulong)v,
        Enum e => ToInt128(Convert.ChangeType(e, Enum.GetUnderlyingType(e.GetType()))),
        _ => null,
    };

    public static Int128 ParseModelValue(string value)
    {
        var v = value.Trim();
        var negative = v.StartsWith('-');
        if (negative)
            v = v[1..];
        var magnitude = v.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? Int128.Parse(v[2..], System.Globalization.NumberStyles.AllowHexSpecifier)
            : Int128.Parse(v, System.Globalization.CultureInfo.InvariantCulture);
        return negative ? -magnitude : magnitude;
    }
}
