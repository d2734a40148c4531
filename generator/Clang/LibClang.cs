using System.Reflection;
using System.Runtime.InteropServices;

namespace Uring.Generator.Clang;

// The slice of the libclang C API (clang-c/Index.h) this generator needs, declared by hand
// because ClangSharp is not available here. All types are blittable mirrors of the C ones.

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXString
{
    public void* Data;
    public uint PrivateFlags;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXCursor
{
    public CXCursorKind Kind;
    public int XData;
    public void* Data0, Data1, Data2;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXType
{
    public CXTypeKind Kind;
    public void* Data0, Data1;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXSourceLocation
{
    public void* Ptr0, Ptr1;
    public uint IntData;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXUnsavedFile
{
    public byte* Filename;
    public byte* Contents;
    public nuint Length;
}

internal enum CXChildVisitResult { Break = 0, Continue = 1, Recurse = 2 }

internal enum CXCursorKind
{
    StructDecl = 2, UnionDecl = 3, EnumDecl = 5, FieldDecl = 6, EnumConstantDecl = 7,
    FunctionDecl = 8, VarDecl = 9, ParmDecl = 10, TypedefDecl = 20,
    DeclRefExpr = 101, MemberRefExpr = 102, CallExpr = 103,
    CompoundStmt = 202,
    TranslationUnit = 350,
    MacroDefinition = 501, MacroExpansion = 502, InclusionDirective = 503,
}

internal enum CXTypeKind
{
    Invalid = 0, Unexposed = 1, Void = 2, Bool = 3, Char_U = 4, UChar = 5, Char16 = 6, Char32 = 7,
    UShort = 8, UInt = 9, ULong = 10, ULongLong = 11, UInt128 = 12, Char_S = 13, SChar = 14,
    WChar = 15, Short = 16, Int = 17, Long = 18, LongLong = 19, Int128 = 20, Float = 21,
    Double = 22, LongDouble = 23,
    Pointer = 101, Record = 105, Enum = 106, Typedef = 107, FunctionNoProto = 110,
    FunctionProto = 111, ConstantArray = 112, IncompleteArray = 114, Elaborated = 119,
    Atomic = 177,
}

internal enum CXEvalResultKind { Int = 1, Float = 2, ObjCStrLiteral = 3, StrLiteral = 4, CFStr = 5, Other = 6, UnExposed = 0 }

internal static unsafe partial class LibClang
{
    private const string Lib = "clang";

    // Debian ships libclang as libclang-NN.so.1; any recent major works for C headers.
    static LibClang()
    {
        NativeLibrary.SetDllImportResolver(typeof(LibClang).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Lib)
            return IntPtr.Zero;
        var explicitPath = Environment.GetEnvironmentVariable("LIBCLANG_PATH");
        if (!string.IsNullOrEmpty(explicitPath))
            return NativeLibrary.Load(explicitPath);
        var candidates = new List<string> { "libclang.so.1", "libclang.so" };
        for (var major = 21; major >= 11; major--)
            candidates.Insert(0, $"libclang-{major}.so.1");
        foreach (var candidate in candidates)
            if (NativeLibrary.TryLoad(candidate, out var handle))
                return handle;
        throw new DllNotFoundException("libclang was not found (tried " + string.Join(", ", candidates) +
            "). Install Debian's libclang1-14 (apt-get install libclang1-14 libclang-common-14-dev) or set LIBCLANG_PATH.");
    }

    [DllImport(Lib)] public static extern IntPtr clang_createIndex(int excludeDeclarationsFromPch, int displayDiagnostics);
    [DllImport(Lib)] public static extern void clang_disposeIndex(IntPtr index);
    [DllImport(Lib)] public static extern int clang_parseTranslationUnit2(IntPtr index, byte* sourceFilename, byte** args, int numArgs, CXUnsavedFile* unsaved, uint numUnsaved, uint options, IntPtr* tu);
    [DllImport(Lib)] public static extern void clang_disposeTranslationUnit(IntPtr tu);
    [DllImport(Lib)] public static extern uint clang_getNumDiagnostics(IntPtr tu);
    [DllImport(Lib)] public static extern IntPtr clang_getDiagnostic(IntPtr tu, uint index);
    [DllImport(Lib)] public static extern int clang_getDiagnosticSeverity(IntPtr diagnostic);
    [DllImport(Lib)] public static extern CXString clang_formatDiagnostic(IntPtr diagnostic, uint options);
    [DllImport(Lib)] public static extern void clang_disposeDiagnostic(IntPtr diagnostic);

    [DllImport(Lib)] public static extern CXCursor clang_getTranslationUnitCursor(IntPtr tu);
    [DllImport(Lib)] public static extern uint clang_visitChildren(CXCursor parent, delegate* unmanaged<CXCursor, CXCursor, IntPtr, CXChildVisitResult> visitor, IntPtr clientData);
    [DllImport(Lib)] public static extern CXString clang_getCursorSpelling(CXCursor cursor);
    [DllImport(Lib)] public static extern CXString clang_getCursorUSR(CXCursor cursor);
    [DllImport(Lib)] public static extern CXType clang_getCursorType(CXCursor cursor);
    [DllImport(Lib)] public static extern CXType clang_getCursorResultType(CXCursor cursor);
    [DllImport(Lib)] public static extern CXCursor clang_getCursorReferenced(CXCursor cursor);
    [DllImport(Lib)] public static extern CXCursor clang_getCursorDefinition(CXCursor cursor);
    [DllImport(Lib)] public static extern CXCursor clang_getCursorSemanticParent(CXCursor cursor);
    [DllImport(Lib)] public static extern uint clang_isCursorDefinition(CXCursor cursor);
    [DllImport(Lib)] public static extern uint clang_equalCursors(CXCursor a, CXCursor b);
    [DllImport(Lib)] public static extern int clang_Cursor_isNull(CXCursor cursor);
    [DllImport(Lib)] public static extern uint clang_Cursor_isAnonymous(CXCursor cursor);
    [DllImport(Lib)] public static extern uint clang_Cursor_isAnonymousRecordDecl(CXCursor cursor);
    [DllImport(Lib)] public static extern uint clang_Cursor_isBitField(CXCursor cursor);
    [DllImport(Lib)] public static extern uint clang_Cursor_isFunctionInlined(CXCursor cursor);
    [DllImport(Lib)] public static extern uint clang_Cursor_isMacroFunctionLike(CXCursor cursor);
    [DllImport(Lib)] public static extern uint clang_Cursor_isMacroBuiltin(CXCursor cursor);
    [DllImport(Lib)] public static extern int clang_Cursor_getStorageClass(CXCursor cursor);
    [DllImport(Lib)] public static extern int clang_Cursor_getNumArguments(CXCursor cursor);
    [DllImport(Lib)] public static extern CXCursor clang_Cursor_getArgument(CXCursor cursor, uint index);
    [DllImport(Lib)] public static extern long clang_Cursor_getOffsetOfField(CXCursor cursor);
    [DllImport(Lib)] public static extern CXString clang_Cursor_getRawCommentText(CXCursor cursor);
    [DllImport(Lib)] public static extern int clang_getFieldDeclBitWidth(CXCursor cursor);
    [DllImport(Lib)] public static extern CXType clang_getTypedefDeclUnderlyingType(CXCursor cursor);
    [DllImport(Lib)] public static extern CXType clang_getEnumDeclIntegerType(CXCursor cursor);
    [DllImport(Lib)] public static extern long clang_getEnumConstantDeclValue(CXCursor cursor);
    [DllImport(Lib)] public static extern ulong clang_getEnumConstantDeclUnsignedValue(CXCursor cursor);
    [DllImport(Lib)] public static extern CXSourceLocation clang_getCursorLocation(CXCursor cursor);
    [DllImport(Lib)] public static extern void clang_getFileLocation(CXSourceLocation location, IntPtr* file, uint* line, uint* column, uint* offset);
    [DllImport(Lib)] public static extern CXString clang_getFileName(IntPtr file);
    [DllImport(Lib)] public static extern IntPtr clang_Cursor_Evaluate(CXCursor cursor);
    [DllImport(Lib)] public static extern CXEvalResultKind clang_EvalResult_getKind(IntPtr result);
    [DllImport(Lib)] public static extern uint clang_EvalResult_isUnsignedInt(IntPtr result);
    [DllImport(Lib)] public static extern ulong clang_EvalResult_getAsUnsigned(IntPtr result);
    [DllImport(Lib)] public static extern long clang_EvalResult_getAsLongLong(IntPtr result);
    [DllImport(Lib)] public static extern void clang_EvalResult_dispose(IntPtr result);

    [DllImport(Lib)] public static extern CXString clang_getTypeSpelling(CXType type);
    [DllImport(Lib)] public static extern CXType clang_getCanonicalType(CXType type);
    [DllImport(Lib)] public static extern CXCursor clang_getTypeDeclaration(CXType type);
    [DllImport(Lib)] public static extern CXType clang_getPointeeType(CXType type);
    [DllImport(Lib)] public static extern CXType clang_getArrayElementType(CXType type);
    [DllImport(Lib)] public static extern long clang_getArraySize(CXType type);
    [DllImport(Lib)] public static extern long clang_Type_getSizeOf(CXType type);
    [DllImport(Lib)] public static extern long clang_Type_getAlignOf(CXType type);
    [DllImport(Lib)] public static extern long clang_Type_getOffsetOf(CXType type, byte* field);
    [DllImport(Lib)] public static extern CXType clang_Type_getNamedType(CXType type);
    [DllImport(Lib)] public static extern CXType clang_Type_getValueType(CXType type);
    [DllImport(Lib)] public static extern CXType clang_getResultType(CXType type);
    [DllImport(Lib)] public static extern int clang_getNumArgTypes(CXType type);
    [DllImport(Lib)] public static extern CXType clang_getArgType(CXType type, uint index);
    [DllImport(Lib)] public static extern uint clang_isConstQualifiedType(CXType type);

    [DllImport(Lib)] private static extern byte* clang_getCString(CXString value);
    [DllImport(Lib)] private static extern void clang_disposeString(CXString value);

    /// <summary>Copies a CXString into managed memory and disposes it.</summary>
    public static string Take(CXString value)
    {
        try
        {
            var chars = clang_getCString(value);
            return chars == null ? "" : Marshal.PtrToStringUTF8((IntPtr)chars) ?? "";
        }
        finally
        {
            clang_disposeString(value);
        }
    }
}
