using System.Text;
using static Uring.Generator.Clang.LibClang;

namespace Uring.Generator.Clang;

/// <summary>
/// Object-like macros evaluated by clang: each becomes the initialiser of a synthetic variable
/// (<c>__auto_type __uring_gen_NAME = (NAME);</c>), whose C type and value clang then reports.
/// Macros that are not expressions fail to compile and simply yield no variable.
/// </summary>
internal static class MacroValues
{
    private const string Prefix = "__uring_gen_";

    public static string Source(string includes, IEnumerable<string> macros)
    {
        var source = new StringBuilder(includes);
        foreach (var name in macros)
            source.Append("__auto_type ").Append(Prefix).Append(name).Append(" = (").Append(name).Append(");\n");
        return source.ToString();
    }

    /// <summary>The synthetic variables of a translation unit parsed from <see cref="Source"/>.</summary>
    public static IEnumerable<(string Macro, CXCursor Variable)> Variables(IntPtr tu)
    {
        foreach (var cursor in Cursors.Children(clang_getTranslationUnitCursor(tu)))
        {
            if (cursor.Kind != CXCursorKind.VarDecl)
                continue;
            var name = cursor.Spelling();
            if (name.StartsWith(Prefix, StringComparison.Ordinal))
                yield return (name[Prefix.Length..], cursor);
        }
    }

    /// <summary>The value of an integer-typed variable, or null when clang cannot evaluate it.</summary>
    public static (long Signed, ulong Unsigned)? Integer(CXCursor variable)
    {
        var evaluation = clang_Cursor_Evaluate(variable);
        if (evaluation == IntPtr.Zero)
            return null;
        try
        {
            if (clang_EvalResult_getKind(evaluation) != CXEvalResultKind.Int)
                return null;
            return (clang_EvalResult_getAsLongLong(evaluation), clang_EvalResult_getAsUnsigned(evaluation));
        }
        finally
        {
            clang_EvalResult_dispose(evaluation);
        }
    }
}
