using System.Runtime.InteropServices;
using System.Text;
using static Uring.Generator.Clang.LibClang;

namespace Uring.Generator.Clang;

/// <summary>Parses C source held in memory with libclang, the given include directories first.</summary>
internal static unsafe class TranslationUnits
{
    /// <summary>
    /// Parses <paramref name="source"/> as C (gnu11, _GNU_SOURCE). With
    /// <paramref name="checkErrors"/>, any error diagnostic is an exception naming
    /// <paramref name="what"/>; without, the caller only looks at what did compile.
    /// </summary>
    public static IntPtr Parse(IntPtr index, IReadOnlyList<string> includeDirectories, string source, bool detailedPreprocessing,
        bool checkErrors, string what)
    {
        const string fileName = "/uring-gen/input.c";
        var args = new List<string> { "-x", "c", "-std=gnu11", "-D_GNU_SOURCE" };
        foreach (var directory in includeDirectories)
            args.AddRange(["-isystem", directory]);
        args.AddRange(["-fparse-all-comments", "-ferror-limit=0", "-Wno-everything"]);
        var resourceDir = ClangResourceDir();
        if (resourceDir is not null)
            args.AddRange(["-resource-dir", resourceDir]);

        var utf8Args = args.Select(a => Encoding.UTF8.GetBytes(a + "\0")).ToArray();
        var handles = utf8Args.Select(a => GCHandle.Alloc(a, GCHandleType.Pinned)).ToArray();
        try
        {
            var argv = stackalloc byte*[utf8Args.Length];
            for (var i = 0; i < utf8Args.Length; i++)
                argv[i] = (byte*)handles[i].AddrOfPinnedObject();
            var nameBytes = Encoding.UTF8.GetBytes(fileName + "\0");
            var sourceBytes = Encoding.UTF8.GetBytes(source);
            fixed (byte* namePtr = nameBytes)
            fixed (byte* sourcePtr = sourceBytes)
            {
                var unsaved = new CXUnsavedFile { Filename = namePtr, Contents = sourcePtr, Length = (nuint)sourceBytes.Length };
                const uint DetailedPreprocessingRecord = 0x01;
                var options = detailedPreprocessing ? DetailedPreprocessingRecord : 0u;
                IntPtr tu;
                var error = clang_parseTranslationUnit2(index, namePtr, argv, utf8Args.Length, &unsaved, 1, options, &tu);
                if (error != 0 || tu == IntPtr.Zero)
                    throw new InvalidOperationException($"libclang could not parse {what} (error {error}); arguments: {string.Join(' ', args)}");
                if (checkErrors)
                    CheckDiagnostics(tu, what);
                return tu;
            }
        }
        finally
        {
            foreach (var handle in handles)
                handle.Free();
        }
    }

    private static void CheckDiagnostics(IntPtr tu, string what)
    {
        var errors = new List<string>();
        var count = clang_getNumDiagnostics(tu);
        for (uint i = 0; i < count; i++)
        {
            var diagnostic = clang_getDiagnostic(tu, i);
            if (clang_getDiagnosticSeverity(diagnostic) >= 3)
                errors.Add(Take(clang_formatDiagnostic(diagnostic, 0x1 | 0x2)));
            clang_disposeDiagnostic(diagnostic);
        }
        if (errors.Count > 0)
        {
            clang_disposeTranslationUnit(tu);
            throw new InvalidOperationException($"{what} does not compile with libclang:\n  " + string.Join("\n  ", errors.Take(20)));
        }
    }

    private static string? ClangResourceDir()
    {
        // libclang locates its own builtin headers (stddef.h, stdatomic.h) relative to the
        // loaded .so, which fails through Debian's /usr/lib/x86_64-linux-gnu symlink.
        var fromEnvironment = Environment.GetEnvironmentVariable("CLANG_RESOURCE_DIR");
        if (!string.IsNullOrEmpty(fromEnvironment))
            return fromEnvironment;
        // Debian keeps them in /usr/lib/llvm-N/lib/clang/V; Fedora and Arch in /usr/lib{,64}/clang/V.
        var roots = new List<string>();
        if (Directory.Exists("/usr/lib"))
            roots.AddRange(Directory.GetDirectories("/usr/lib", "llvm-*").Select(llvm => Path.Combine(llvm, "lib/clang")));
        roots.AddRange(["/usr/lib/clang", "/usr/lib64/clang"]);
        var candidates = roots.Where(Directory.Exists)
            .SelectMany(Directory.GetDirectories)
            .Where(dir => File.Exists(Path.Combine(dir, "include/stddef.h")))
            .OrderByDescending(dir => dir, StringComparer.Ordinal)
            .ToList();
        return candidates.FirstOrDefault();
    }
}
