using System.Text;

namespace Uring.Generator;

/// <summary>C# spelling rules for names and documentation coming from C.</summary>
internal static class CSharp
{
    private static readonly HashSet<string> s_keywords = new(StringComparer.Ordinal)
    {
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
        "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit",
        "extern", "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int",
        "interface", "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out",
        "override", "params", "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed",
        "short", "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try",
        "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while",
    };

    /// <summary>The member name for a C identifier: a C# member may not share its type's name.</summary>
    public static string Identifier(string cName, string enclosingType) =>
        cName == enclosingType ? cName + "_" : cName;

    /// <summary>Escapes keywords for use in source (<c>@event</c>); reflection sees the plain name.</summary>
    public static string Escape(string identifier) =>
        s_keywords.Contains(identifier) ? "@" + identifier : identifier;

    public static string Xml(string text) =>
        text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    /// <summary>A documentation comment block, one <c>///</c> line per input line.</summary>
    public static void AppendDoc(StringBuilder output, string indent, string? summary, string? remarks = null)
    {
        if (string.IsNullOrWhiteSpace(summary) && string.IsNullOrWhiteSpace(remarks))
            return;
        if (!string.IsNullOrWhiteSpace(summary))
        {
            output.Append(indent).Append("/// <summary>\n");
            foreach (var line in summary.Split('\n'))
                output.Append(indent).Append("/// ").Append(Xml(line)).Append('\n');
            output.Append(indent).Append("/// </summary>\n");
        }
        if (!string.IsNullOrWhiteSpace(remarks))
        {
            output.Append(indent).Append("/// <remarks>");
            var lines = remarks.Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                if (i > 0)
                    output.Append('\n').Append(indent).Append("/// ");
                output.Append(Xml(lines[i]));
            }
            output.Append("</remarks>\n");
        }
    }
}
