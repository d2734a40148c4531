using System.Diagnostics;
using Uring.Generator.Clang;
using Uring.Generator.Model;
using static Uring.Generator.Clang.LibClang;

namespace Uring.Generator;

/// <summary>
/// Parses liburing.h of one pinned generation with libclang and builds the <see cref="ApiModel"/>.
/// </summary>
internal sealed unsafe class HeaderParser
{
    // Types declared outside liburing's headers whose fields the bindings expose. Their layout
    // is fixed ABI (glibc or long-stable uapi), so the output does not depend on which
    // linux-libc-dev is installed. Every other external record (struct statx grows with the
    // uapi version) is emitted opaque: exact size and alignment, no fields.
    private static readonly HashSet<string> s_externalWithFields = new(StringComparer.Ordinal)
    {
        "__kernel_timespec", "timespec", "open_how", "iovec", "msghdr", "sockaddr", "cmsghdr",
        "futex_waitv", "epoll_event", "epoll_data", "sock_filter", "sock_fprog",
    };

    private readonly HeaderSource _source;
    private readonly string _includeRoot;
    private readonly HashSet<string> _exports;
    private readonly List<string> _notes = [];

    private readonly Dictionary<string, string> _anonymousTypedefNames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RecordModel?> _records = new(StringComparer.Ordinal); // by USR; null while being built
    private readonly List<string> _recordOrder = [];
    private readonly Dictionary<string, string> _cNameOverrides = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _cNamesByCsName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EnumModel> _enums = new(StringComparer.Ordinal);
    private readonly List<string> _enumOrder = [];

    public HeaderParser(HeaderSource source, HashSet<string> exports)
    {
        _source = source;
        _includeRoot = source.IncludeRoot.TrimEnd('/') + "/";
        _exports = exports;
    }

    public TimeSpan ParseTime { get; private set; }

    public ApiModel Parse()
    {
        var index = clang_createIndex(0, 0);
        try
        {
            var clock = Stopwatch.StartNew();
            var tu = TranslationUnits.Parse(index, _source.IncludeDirectories, "#include <liburing.h>\n",
                detailedPreprocessing: true, checkErrors: true, "liburing.h");
            ParseTime = clock.Elapsed;
            try
            {
                var top = Cursors.Children(clang_getTranslationUnitCursor(tu));
                foreach (var cursor in top.Where(c => c.Kind == CXCursorKind.TypedefDecl))
                    NoteAnonymousTypedef(cursor);

                var constants = new List<ConstantModel>();
                var macros = new List<(string Name, string Header)>();
                var functionCursors = new Dictionary<string, CXCursor>(StringComparer.Ordinal);
                var functionOrder = new List<string>();
                foreach (var cursor in top)
                {
                    var header = OwnedHeader(cursor);
                    if (header is null)
                        continue;
                    switch (cursor.Kind)
                    {
                        case CXCursorKind.StructDecl or CXCursorKind.UnionDecl
                            when cursor.IsDefinition() && !IsUnnamed(cursor):
                            RequireRecord(cursor);
                            break;
                        case CXCursorKind.EnumDecl when cursor.IsDefinition():
                            if (IsUnnamed(cursor))
                                constants.AddRange(AnonymousEnumConstants(cursor, header));
                            else
                                RequireEnum(cursor);
                            break;
                        case CXCursorKind.FunctionDecl:
                            var name = cursor.Spelling();
                            if (!functionCursors.ContainsKey(name))
                                functionOrder.Add(name);
                            if (!functionCursors.TryGetValue(name, out var known) || (!known.IsDefinition() && cursor.IsDefinition()))
                                functionCursors[name] = cursor;
                            break;
                        case CXCursorKind.MacroDefinition
                            when clang_Cursor_isMacroFunctionLike(cursor) == 0 && clang_Cursor_isMacroBuiltin(cursor) == 0:
                            macros.Add((cursor.Spelling(), header));
                            break;
                    }
                }

                var functions = BuildFunctions(functionOrder, functionCursors);
                constants.AddRange(EvaluateMacros(index, macros));

                var records = _recordOrder.Select(usr => _records[usr]!).ToList();
                var enums = _enumOrder.Select(usr => _enums[usr]).ToList();
                return new ApiModel(LiburingVersion(constants) ?? "", _source.LibraryName, records, enums, constants, functions, [], _notes);
            }
            finally
            {
                clang_disposeTranslationUnit(tu);
            }
        }
        finally
        {
            clang_disposeIndex(index);
        }
    }

    /// <summary>
    /// The release the headers belong to, from liburing/io_uring_version.h (liburing ≥ 2.4), so
    /// that the output names what was parsed, whichever way it was found.
    /// </summary>
    private static string? LiburingVersion(List<ConstantModel> constants)
    {
        var major = constants.FirstOrDefault(c => c.Name == "IO_URING_VERSION_MAJOR")?.Value;
        var minor = constants.FirstOrDefault(c => c.Name == "IO_URING_VERSION_MINOR")?.Value;
        return major is null || minor is null ? null : $"{major}.{minor}";
    }

    /// <summary>Header path relative to the include root if it belongs to liburing, else null.</summary>
    private string? OwnedHeader(CXCursor cursor)
    {
        var relative = RelativeHeader(cursor);
        return relative is "liburing.h" || relative.StartsWith("liburing/", StringComparison.Ordinal) ? relative : null;
    }

    private string RelativeHeader(CXCursor cursor)
    {
        var file = cursor.Location().File;
        if (file.StartsWith(_includeRoot, StringComparison.Ordinal))
            return file[_includeRoot.Length..];
        // System headers outside the pinned root (glibc): keep the part after include/.
        var marker = file.LastIndexOf("/include/", StringComparison.Ordinal);
        return marker >= 0 ? file[(marker + "/include/".Length)..] : Path.GetFileName(file);
    }

    /// <summary>
    /// Unnamed struct, union or enum, including one named only by a typedef
    /// (<c>typedef struct { … } __sigset_t</c>). libclang's answers differ between versions: 14
    /// spells such a record "", 16 and later "__sigset_t", and neither calls it anonymous; but a
    /// tagged record's type is always spelled "struct tag", which an unnamed one's never is.
    /// </summary>
    private static bool IsUnnamed(CXCursor declaration)
    {
        var spelling = declaration.Spelling();
        if (spelling.Length == 0 || clang_Cursor_isAnonymous(declaration) != 0)
            return true;
        var keyword = declaration.Kind switch
        {
            CXCursorKind.UnionDecl => "union",
            CXCursorKind.EnumDecl => "enum",
            _ => "struct",
        };
        return declaration.Type().Spelling() != $"{keyword} {spelling}";
    }

    private void NoteAnonymousTypedef(CXCursor typedef)
    {
        var underlying = clang_getTypedefDeclUnderlyingType(typedef).Unwrap();
        if (underlying.Kind is not (CXTypeKind.Record or CXTypeKind.Enum))
            return;
        var declaration = underlying.Declaration();
        if (!IsUnnamed(declaration))
            return;
        _anonymousTypedefNames.TryAdd(declaration.Usr(), typedef.Spelling());
    }

    // ---------------------------------------------------------------- records

    private string RecordName(CXCursor declaration)
    {
        if (!IsUnnamed(declaration))
            return declaration.Spelling();
        return _anonymousTypedefNames.TryGetValue(declaration.Usr(), out var name) ? name : "";
    }

    private string RequireRecord(CXCursor declaration)
    {
        var definition = clang_getCursorDefinition(declaration);
        if (!definition.IsNull())
            declaration = definition;
        var usr = declaration.Usr();
        var name = RecordName(declaration);
        if (name.Length == 0)
            throw new InvalidOperationException($"anonymous record at {declaration.Location()} ({declaration.Usr()}) has no typedef name");
        if (_records.ContainsKey(usr))
            return name;
        _records[usr] = null;
        _recordOrder.Add(usr);
        _records[usr] = BuildRecord(declaration, name);
        return name;
    }

    private RecordModel BuildRecord(CXCursor declaration, string name)
    {
        var type = declaration.Type();
        var kind = declaration.Kind == CXCursorKind.UnionDecl ? "union" : "struct";
        var anonymous = IsUnnamed(declaration);
        var cName = _cNameOverrides.TryGetValue(declaration.Usr(), out var spelled) ? spelled : anonymous ? name : $"{kind} {name}";
        _cNamesByCsName[name] = cName;
        var size = clang_Type_getSizeOf(type);
        var align = clang_Type_getAlignOf(type);
        var owned = OwnedHeader(declaration);
        var header = owned ?? RelativeHeader(declaration);
        var external = owned is null;
        var doc = declaration.Comment();

        if (size < 0 || !declaration.IsDefinition())
        {
            _notes.Add($"{cName} is incomplete in the headers: emitted as an opaque handle (pointer use only)");
            return new RecordModel(cName, name, kind, 0, 0, header, external, true, false, doc, [], []);
        }
        if (external && !s_externalWithFields.Contains(name))
            return new RecordModel(cName, name, kind, size, align, header, external, true, false, doc, [], []);

        var fields = new List<FieldModel>();
        var nested = new List<NestedRecordModel>();
        var counter = 0;
        CollectFields(declaration, name, [], 0, fields, nested, ref counter);
        var packed = fields.Any(f => !f.Bitfield && f.Size > 0 && !f.Flexible && f.Offset % Math.Min(NaturalAlign(f), 8) != 0)
                     || align < fields.Where(f => !f.Bitfield).Select(NaturalAlign).DefaultIfEmpty(1).Max();
        return new RecordModel(cName, name, kind, size, align, header, external, false, packed, doc, fields, nested);
    }

    private static long NaturalAlign(FieldModel field)
    {
        if (field.CsType.EndsWith('*'))
            return 8;
        return field.CsType switch
        {
            "byte" or "sbyte" or "bool" => 1,
            "short" or "ushort" => 2,
            "int" or "uint" or "float" => 4,
            "long" or "ulong" or "double" or "nint" or "nuint" => 8,
            _ => 1,
        };
    }

    private void CollectFields(CXCursor record, string topName, List<string> anonymousPath,
        long baseOffset, List<FieldModel> fields, List<NestedRecordModel> nested, ref int counter)
    {
        foreach (var child in Cursors.Children(record))
        {
            if (child.IsRecordDecl() && clang_Cursor_isAnonymousRecordDecl(child) != 0)
            {
                var nestedName = $"_Anonymous{++counter}";
                var innerFields = Cursors.Children(child).Where(c => c.Kind == CXCursorKind.FieldDecl).ToList();
                long memberOffset = baseOffset;
                if (innerFields.Count > 0)
                    memberOffset = baseOffset + FieldOffsetInParent(record, child);
                var nestedKind = child.Kind == CXCursorKind.UnionDecl ? "union" : "struct";
                nested.Add(new NestedRecordModel($"{nestedName}_e__{(nestedKind == "union" ? "Union" : "Struct")}", nestedName,
                    nestedKind, memberOffset, clang_Type_getSizeOf(child.Type()), [.. anonymousPath]));
                CollectFields(child, topName, [.. anonymousPath, nestedName], memberOffset, fields, nested, ref counter);
                continue;
            }
            if (child.Kind != CXCursorKind.FieldDecl)
                continue;

            var fieldName = child.Spelling();
            var fieldType = child.Type();
            var bitfield = clang_Cursor_isBitField(child) != 0;
            var offsetBits = clang_Cursor_getOffsetOfField(child);
            var offset = baseOffset + offsetBits / 8;
            var cType = fieldType.Spelling();
            long? arrayLength = null;
            var flexible = false;
            var elementType = fieldType.Canonical();
            if (elementType.Kind == CXTypeKind.ConstantArray)
            {
                long count = 1;
                while (elementType.Kind == CXTypeKind.ConstantArray)
                {
                    count *= clang_getArraySize(elementType);
                    elementType = clang_getArrayElementType(elementType).Canonical();
                }
                arrayLength = count;
                flexible = count == 0;
            }
            else if (elementType.Kind == CXTypeKind.IncompleteArray)
            {
                arrayLength = 0;
                flexible = true;
                elementType = clang_getArrayElementType(elementType).Canonical();
            }
            string csType;
            var elementDeclaration = elementType.Declaration();
            if (elementType.Kind == CXTypeKind.Record && IsUnnamed(elementDeclaration)
                && !_anonymousTypedefNames.ContainsKey(elementDeclaration.Usr()))
            {
                // A named field of an unnamed struct type: the type gets the name Parent_field,
                // and C reaches it as __typeof__ of the member.
                _anonymousTypedefNames[elementDeclaration.Usr()] = $"{topName}_{fieldName}";
                _cNameOverrides[elementDeclaration.Usr()] = $"__typeof__((({RecordCName(topName)} *)0)->{fieldName})";
            }
            csType = MapType(arrayLength is null ? fieldType : elementType);
            if (elementType.Kind == CXTypeKind.Record && IsUnnamed(elementDeclaration))
                cType = _cNameOverrides.TryGetValue(elementDeclaration.Usr(), out var spelledType) ? spelledType : csType;
            var size = bitfield ? 0 : Math.Max(0, clang_Type_getSizeOf(fieldType));
            fields.Add(new FieldModel(fieldName, CSharp.Identifier(fieldName, topName), offset, size, cType, csType,
                arrayLength, flexible, [.. anonymousPath], bitfield, child.Comment()));
        }
    }

    private string RecordCName(string csName) => _cNamesByCsName.TryGetValue(csName, out var cName) ? cName : "struct " + csName;

    /// <summary>Byte offset of an anonymous member inside its parent record.</summary>
    private static long FieldOffsetInParent(CXCursor parent, CXCursor anonymousRecord)
    {
        // The anonymous member's implicit field is not visited by libclang; the parent type
        // resolves its first named field, and that field's offset inside the member is known.
        var first = FirstNamedField(anonymousRecord).Spelling();
        return (parent.Type().OffsetOfBits(first) - anonymousRecord.Type().OffsetOfBits(first)) / 8;
    }

    /// <summary>The first field reachable by name from the record: a direct named field, or
    /// one inside a nested anonymous member (never one inside a named member's own type).</summary>
    private static CXCursor FirstNamedField(CXCursor record)
    {
        foreach (var child in Cursors.Children(record))
        {
            if (child.Kind == CXCursorKind.FieldDecl && child.Spelling().Length > 0)
                return child;
            if (child.IsRecordDecl() && clang_Cursor_isAnonymousRecordDecl(child) != 0)
                return FirstNamedField(child);
        }
        throw new InvalidOperationException($"anonymous member at {record.Location()} has no named field");
    }

    // ---------------------------------------------------------------- types

    private static readonly Dictionary<string, string> s_typedefs = new(StringComparer.Ordinal)
    {
        ["size_t"] = "nuint", ["ssize_t"] = "nint", ["uintptr_t"] = "nuint", ["intptr_t"] = "nint",
    };

    /// <summary>The C# spelling of a C type (arrays decay to pointers).</summary>
    public string MapType(CXType type)
    {
        type = type.Unwrap();
        if (type.Kind == CXTypeKind.Typedef)
        {
            var name = type.Declaration().Spelling();
            if (s_typedefs.TryGetValue(name, out var mapped))
                return mapped;
        }
        var canonical = type.Canonical();
        switch (canonical.Kind)
        {
            case CXTypeKind.Void: return "void";
            case CXTypeKind.Bool: return "bool";
            case CXTypeKind.Char_S or CXTypeKind.Char_U or CXTypeKind.UChar: return "byte";
            case CXTypeKind.SChar: return "sbyte";
            case CXTypeKind.Short: return "short";
            case CXTypeKind.UShort: return "ushort";
            case CXTypeKind.Int: return "int";
            case CXTypeKind.UInt: return "uint";
            case CXTypeKind.Long or CXTypeKind.LongLong: return "long";
            case CXTypeKind.ULong or CXTypeKind.ULongLong: return "ulong";
            case CXTypeKind.Int128: return "Int128";
            case CXTypeKind.UInt128: return "UInt128";
            case CXTypeKind.Float: return "float";
            case CXTypeKind.Double: return "double";
            case CXTypeKind.Atomic: return MapType(clang_Type_getValueType(canonical));
            case CXTypeKind.Pointer:
            {
                var pointee = clang_getPointeeType(type.Kind == CXTypeKind.Pointer ? type : canonical);
                if (pointee.Canonical().Kind is CXTypeKind.FunctionProto or CXTypeKind.FunctionNoProto)
                    return "void*";
                return MapType(pointee) + "*";
            }
            case CXTypeKind.ConstantArray or CXTypeKind.IncompleteArray:
                return MapType(clang_getArrayElementType(canonical)) + "*";
            case CXTypeKind.Record:
                return RequireRecord(canonical.Declaration());
            case CXTypeKind.Enum:
            {
                var declaration = canonical.Declaration();
                if (IsUnnamed(declaration) && !_anonymousTypedefNames.ContainsKey(declaration.Usr()))
                    return MapType(clang_getEnumDeclIntegerType(declaration));
                return RequireEnum(declaration);
            }
            default:
                throw new NotSupportedException($"C type '{type.Spelling()}' ({canonical.Kind}) has no C# mapping");
        }
    }

    private string RequireEnum(CXCursor declaration)
    {
        var usr = declaration.Usr();
        if (_enums.TryGetValue(usr, out var known))
            return known.CsName;
        var name = !IsUnnamed(declaration) ? declaration.Spelling() : _anonymousTypedefNames[usr];
        var underlying = MapType(clang_getEnumDeclIntegerType(declaration));
        var unsigned = underlying.StartsWith('u') || underlying == "byte";
        var members = Cursors.Children(declaration)
            .Where(c => c.Kind == CXCursorKind.EnumConstantDecl)
            .Select(c => new EnumMemberModel(c.Spelling(), unsigned
                ? clang_getEnumConstantDeclUnsignedValue(c).ToString(System.Globalization.CultureInfo.InvariantCulture)
                : clang_getEnumConstantDeclValue(c).ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
        var header = OwnedHeader(declaration) ?? RelativeHeader(declaration);
        var cName = !IsUnnamed(declaration) ? $"enum {name}" : name;
        _enums[usr] = new EnumModel(cName, name, underlying, header, declaration.Comment(), members);
        _enumOrder.Add(usr);
        return name;
    }

    private IEnumerable<ConstantModel> AnonymousEnumConstants(CXCursor declaration, string header)
    {
        var integerType = clang_getEnumDeclIntegerType(declaration);
        var csType = MapType(integerType);
        var unsigned = csType.StartsWith('u') || csType == "byte";
        foreach (var member in Cursors.Children(declaration).Where(c => c.Kind == CXCursorKind.EnumConstantDecl))
        {
            var value = unsigned
                ? clang_getEnumConstantDeclUnsignedValue(member).ToString(System.Globalization.CultureInfo.InvariantCulture)
                : clang_getEnumConstantDeclValue(member).ToString(System.Globalization.CultureInfo.InvariantCulture);
            // In C an enumerator has type int when its value fits, whatever the enum's underlying type.
            var fitsInt = long.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var number) && number is >= int.MinValue and <= int.MaxValue;
            yield return fitsInt
                ? new ConstantModel(member.Spelling(), value, "int", "int", header)
                : new ConstantModel(member.Spelling(), value, integerType.Canonical().Spelling(), csType, header);
        }
    }

    // ---------------------------------------------------------------- macros

    private IEnumerable<ConstantModel> EvaluateMacros(IntPtr index, List<(string Name, string Header)> macros)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, header) in macros)
            if (!name.StartsWith("__", StringComparison.Ordinal))
                headers.TryAdd(name, header);
        var source = MacroValues.Source("#include <liburing.h>\n", headers.Keys);
        var tu = TranslationUnits.Parse(index, _source.IncludeDirectories, source, detailedPreprocessing: false, checkErrors: false, "liburing's macros");
        try
        {
            var results = new List<ConstantModel>();
            foreach (var (macro, variable) in MacroValues.Variables(tu))
            {
                var type = variable.Type().Canonical();
                if (type.Kind is not (CXTypeKind.Int or CXTypeKind.UInt or CXTypeKind.Long or CXTypeKind.ULong
                    or CXTypeKind.LongLong or CXTypeKind.ULongLong or CXTypeKind.Short or CXTypeKind.UShort
                    or CXTypeKind.Char_S or CXTypeKind.UChar or CXTypeKind.SChar or CXTypeKind.Bool))
                    continue;
                if (MacroValues.Integer(variable) is not var (signedValue, unsignedValue))
                    continue;
                var csType = MapType(type);
                var unsigned = csType.StartsWith('u') || csType is "byte" or "bool";
                var value = unsigned
                    ? unsignedValue.ToString(System.Globalization.CultureInfo.InvariantCulture)
                    : signedValue.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (csType == "bool")
                    value = value == "0" ? "false" : "true";
                results.Add(new ConstantModel(macro, value, type.Spelling(), csType, headers[macro]));
            }
            var evaluated = results.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
            var skipped = headers.Keys.Where(n => !evaluated.Contains(n)).Order(StringComparer.Ordinal).ToList();
            if (skipped.Count > 0)
                _notes.Add($"{skipped.Count} object-like macros are not integer constant expressions and were skipped: {string.Join(", ", skipped)}");
            return results;
        }
        finally
        {
            clang_disposeTranslationUnit(tu);
        }
    }

    // ---------------------------------------------------------------- functions

    private List<FunctionModel> BuildFunctions(List<string> order, Dictionary<string, CXCursor> cursors)
    {
        var calls = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var hasBody = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in order)
        {
            var cursor = cursors[name];
            if (!cursor.IsDefinition())
                continue;
            hasBody.Add(name);
            calls[name] = CalleesOf(cursor);
        }
        var verdicts = new Dictionary<string, bool>(StringComparer.Ordinal);

        var result = new List<FunctionModel>();
        foreach (var name in order)
        {
            var cursor = cursors[name];
            var inline = cursor.IsDefinition();
            var exported = _exports.Contains(name);
            if (!exported)
                _notes.Add($"{name} is declared in {OwnedHeader(cursor)} but not exported by the library: not emitted");
            var returnType = clang_getCursorResultType(cursor);
            var parameters = new List<ParameterModel>();
            var count = clang_Cursor_getNumArguments(cursor);
            for (uint i = 0; i < count; i++)
            {
                var argument = clang_Cursor_getArgument(cursor, i);
                var argumentName = argument.Spelling();
                if (argumentName.Length == 0)
                    argumentName = $"arg{i}";
                parameters.Add(new ParameterModel(argumentName, argument.Type().Spelling(), MapType(argument.Type())));
            }
            var mayEnterKernel = MayEnterKernel(name, calls, hasBody, verdicts, []);
            result.Add(new FunctionModel(name, returnType.Spelling(), MapType(returnType), parameters, inline, exported,
                mayEnterKernel, calls.TryGetValue(name, out var callees) ? callees : [], OwnedHeader(cursor)!, cursor.Comment()));
        }
        return result;
    }

    private static List<string> CalleesOf(CXCursor function)
    {
        var callees = new List<string>();
        foreach (var node in Cursors.Descendants(function))
        {
            if (node.Kind != CXCursorKind.CallExpr)
                continue;
            var target = clang_getCursorReferenced(node);
            var name = !target.IsNull() && target.Kind == CXCursorKind.FunctionDecl ? target.Spelling() : "<indirect call>";
            if (!callees.Contains(name))
                callees.Add(name);
        }
        return callees;
    }

    /// <summary>
    /// A function may enter the kernel unless its inline body reaches, transitively, only other
    /// inline bodies and compiler builtins. A function without a body in the headers (a real
    /// library function, or libc) is assumed to make a system call.
    /// </summary>
    private static bool MayEnterKernel(string name, Dictionary<string, List<string>> calls, HashSet<string> hasBody,
        Dictionary<string, bool> verdicts, HashSet<string> visiting)
    {
        if (verdicts.TryGetValue(name, out var known))
            return known;
        if (IsCompilerBuiltin(name))
            return false;
        if (!hasBody.Contains(name))
            return true;
        if (!visiting.Add(name))
            return false;
        var verdict = calls[name].Any(callee => MayEnterKernel(callee, calls, hasBody, verdicts, visiting));
        visiting.Remove(name);
        verdicts[name] = verdict;
        return verdict;
    }

    private static bool IsCompilerBuiltin(string name) =>
        name.StartsWith("__builtin_", StringComparison.Ordinal) || name.StartsWith("__atomic_", StringComparison.Ordinal)
        || name.StartsWith("__c11_atomic_", StringComparison.Ordinal) || name.StartsWith("__sync_", StringComparison.Ordinal);
}
