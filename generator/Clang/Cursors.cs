using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static Uring.Generator.Clang.LibClang;

namespace Uring.Generator.Clang;

/// <summary>Convenience reads over libclang cursors and types.</summary>
internal static unsafe class Cursors
{
    public static List<CXCursor> Children(CXCursor parent)
    {
        var list = new List<CXCursor>();
        var handle = GCHandle.Alloc(list);
        try
        {
            clang_visitChildren(parent, &Collect, GCHandle.ToIntPtr(handle));
        }
        finally
        {
            handle.Free();
        }
        return list;
    }

    [UnmanagedCallersOnly]
    private static CXChildVisitResult Collect(CXCursor cursor, CXCursor parent, IntPtr data)
    {
        ((List<CXCursor>)GCHandle.FromIntPtr(data).Target!).Add(cursor);
        return CXChildVisitResult.Continue;
    }

    /// <summary>Every descendant, depth first, in source order.</summary>
    public static IEnumerable<CXCursor> Descendants(CXCursor parent)
    {
        foreach (var child in Children(parent))
        {
            yield return child;
            foreach (var grandchild in Descendants(child))
                yield return grandchild;
        }
    }

    public static string Spelling(this CXCursor cursor) => Take(clang_getCursorSpelling(cursor));
    public static string Usr(this CXCursor cursor) => Take(clang_getCursorUSR(cursor));
    public static string Spelling(this CXType type) => Take(clang_getTypeSpelling(type));
    public static CXType Type(this CXCursor cursor) => clang_getCursorType(cursor);
    public static CXType Canonical(this CXType type) => clang_getCanonicalType(type);
    public static CXCursor Declaration(this CXType type) => clang_getTypeDeclaration(type);
    public static bool IsNull(this CXCursor cursor) => clang_Cursor_isNull(cursor) != 0;
    public static bool IsDefinition(this CXCursor cursor) => clang_isCursorDefinition(cursor) != 0;

    public static (string File, uint Line) Location(this CXCursor cursor)
    {
        IntPtr file;
        uint line, column, offset;
        clang_getFileLocation(clang_getCursorLocation(cursor), &file, &line, &column, &offset);
        return (file == IntPtr.Zero ? "" : Take(clang_getFileName(file)), line);
    }

    /// <summary>The header comment, or null. Comment markers are stripped, lines trimmed.</summary>
    public static string? Comment(this CXCursor cursor)
    {
        var raw = Take(clang_Cursor_getRawCommentText(cursor));
        if (string.IsNullOrWhiteSpace(raw))
            return null;
        var lines = raw.Replace("\r", "").Split('\n').Select(CleanCommentLine).ToList();
        while (lines.Count > 0 && lines[0].Length == 0) lines.RemoveAt(0);
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        var text = string.Join("\n", lines);
        return text.Length == 0 ? null : text;
    }

    private static string CleanCommentLine(string line)
    {
        var text = line.Trim();
        foreach (var marker in new[] { "/**<", "/**", "/*", "///<", "///", "//" })
            if (text.StartsWith(marker, StringComparison.Ordinal)) { text = text[marker.Length..]; break; }
        if (text.EndsWith("*/", StringComparison.Ordinal))
            text = text[..^2];
        text = text.Trim();
        if (text.StartsWith('*'))
            text = text[1..].TrimStart();
        return text.TrimEnd();
    }

    /// <summary>Offset in bits of a field reachable by name from the record type (libclang looks
    /// through anonymous members); a negative libclang answer is an error, not an offset.</summary>
    public static long OffsetOfBits(this CXType record, string field)
    {
        var name = System.Text.Encoding.UTF8.GetBytes(field + "\0");
        long bits;
        fixed (byte* namePtr = name)
            bits = clang_Type_getOffsetOf(record, namePtr);
        if (bits < 0)
            throw new InvalidOperationException($"libclang has no offset for {field} in {record.Spelling()} (error {bits})");
        return bits;
    }

    public static CXType Unwrap(this CXType type)
    {
        while (type.Kind == CXTypeKind.Elaborated)
            type = clang_Type_getNamedType(type);
        return type;
    }

    public static bool SameCursor(CXCursor a, CXCursor b) => clang_equalCursors(a, b) != 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsRecordDecl(this CXCursor cursor) =>
        cursor.Kind is CXCursorKind.StructDecl or CXCursorKind.UnionDecl;
}
