using System.Text.RegularExpressions;
using Uring.Generator.Clang;
using Uring.Generator.Model;
using static Uring.Generator.Clang.LibClang;

namespace Uring.Generator;

/// <summary>
/// Every errno the kernel's uapi headers define (asm-generic/errno-base.h, asm-generic/errno.h),
/// with clang's value and the message of the header comment on the same line.
/// </summary>
internal static partial class ErrnoReader
{
    public static readonly string[] Headers = ["asm-generic/errno-base.h", "asm-generic/errno.h"];

    public static List<ErrnoModel> Read(HeaderSource source)
    {
        var index = clang_createIndex(0, 0);
        try
        {
            var what = $"{Headers[1]} under {source.IncludeRoot}";
            var tu = TranslationUnits.Parse(index, source.IncludeDirectories, $"#include <{Headers[1]}>\n",
                detailedPreprocessing: true, checkErrors: true, what);
            var definitions = new List<(string Name, string Header, string File, uint Line)>();
            try
            {
                foreach (var cursor in Cursors.Children(clang_getTranslationUnitCursor(tu)))
                {
                    if (cursor.Kind != CXCursorKind.MacroDefinition || clang_Cursor_isMacroFunctionLike(cursor) != 0)
                        continue;
                    var (file, line) = cursor.Location();
                    var header = Headers.FirstOrDefault(h => file.EndsWith("/" + h, StringComparison.Ordinal));
                    var name = cursor.Spelling();
                    if (header is not null && ErrnoName().IsMatch(name))
                        definitions.Add((name, header, file, line));
                }
            }
            finally
            {
                clang_disposeTranslationUnit(tu);
            }
            if (definitions.Count == 0)
                throw new InvalidOperationException($"no errno definitions found in {string.Join(" or ", Headers)} under {source.IncludeRoot}");

            var values = Evaluate(index, source, definitions.Select(d => d.Name));
            var lines = new Dictionary<string, string[]>(StringComparer.Ordinal);
            var firstName = new Dictionary<int, string>();
            var result = new List<ErrnoModel>();
            foreach (var (name, header, file, line) in definitions)
            {
                if (!values.TryGetValue(name, out var value))
                    throw new InvalidOperationException($"{name} ({header}) is not an integer constant for clang");
                if (!lines.TryGetValue(file, out var text))
                    lines[file] = text = File.ReadAllLines(file);
                var comment = line >= 1 && line <= text.Length ? LineComment().Match(text[line - 1]) : Match.Empty;
                var aliasOf = firstName.TryGetValue(value, out var first) ? first : null;
                firstName.TryAdd(value, name);
                result.Add(new ErrnoModel(name, value, comment.Success ? comment.Groups[1].Value : null, header, aliasOf));
            }
            return result;
        }
        finally
        {
            clang_disposeIndex(index);
        }
    }

    private static Dictionary<string, int> Evaluate(IntPtr index, HeaderSource source, IEnumerable<string> names)
    {
        var tu = TranslationUnits.Parse(index, source.IncludeDirectories, MacroValues.Source($"#include <{Headers[1]}>\n", names),
            detailedPreprocessing: false, checkErrors: true, "the errno macros");
        try
        {
            var values = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var (macro, variable) in MacroValues.Variables(tu))
                if (variable.Type().Canonical().Kind == CXTypeKind.Int && MacroValues.Integer(variable) is var (signed, _))
                    values[macro] = checked((int)signed);
            return values;
        }
        finally
        {
            clang_disposeTranslationUnit(tu);
        }
    }

    [GeneratedRegex("^E[A-Z0-9]+$")]
    private static partial Regex ErrnoName();

    [GeneratedRegex(@"/\*\s*(.*?)\s*\*/")]
    private static partial Regex LineComment();
}
