using System.Diagnostics;

namespace Uring.Examples.EmbedPython;

/// <summary>Finds the shared CPython library (libpython3.X.so) to embed.</summary>
/// <remarks>
/// In order: <c>PYTHONNET_PYDLL</c> (Python.NET's own variable: a path or a library name); then
/// the library of the <c>python3</c> on <c>PATH</c>, then of <c>/usr/bin/python3</c>, as the
/// interpreter's own <c>sysconfig</c> reports it (<c>LIBDIR</c>/<c>INSTSONAME</c>), which is right
/// for Debian's multiarch folders, pyenv and custom prefixes alike. An interpreter built without a
/// shared library has none and is skipped.
/// </remarks>
internal static class LibPython
{
    // Prints LIBDIR/INSTSONAME when the interpreter has a shared library; nothing otherwise.
    private const string SysconfigQuery =
        "import os, sysconfig as s; p = os.path.join(s.get_config_var('LIBDIR') or '', s.get_config_var('INSTSONAME') or ''); " +
        "print(p if s.get_config_var('Py_ENABLE_SHARED') and os.path.isfile(p) else '')";

    /// <summary>The library's path (or name), and how it was found.</summary>
    public static (string Library, string FoundBy) Locate()
    {
        var configured = Environment.GetEnvironmentVariable("PYTHONNET_PYDLL");
        if (!string.IsNullOrEmpty(configured))
        {
            if (configured.Contains('/') && !File.Exists(configured))
                throw new LibPythonNotFoundException($"PYTHONNET_PYDLL={configured}: no such file");
            return (configured, "PYTHONNET_PYDLL");
        }

        var tried = new List<string>();
        foreach (var (interpreter, description) in new[] { ("python3", "python3 on PATH"), ("/usr/bin/python3", "/usr/bin/python3") })
        {
            var library = AskInterpreter(interpreter, out var problem);
            if (library is not null)
                return (library, description);
            tried.Add($"{description}: {problem}");
        }
        throw new LibPythonNotFoundException(
            "no shared libpython3 found (" + string.Join("; ", tried) + "). On Debian: apt-get install libpython3.X " +
            "for the X of /usr/bin/python3, or set PYTHONNET_PYDLL to the library's path.");
    }

    private static string? AskInterpreter(string interpreter, out string problem)
    {
        var start = new ProcessStartInfo(interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(SysconfigQuery);
        try
        {
            using var process = Process.Start(start)!;
            var errors = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd().Trim();
            errors.Wait();
            process.WaitForExit();
            problem = process.ExitCode != 0 ? $"exited with {process.ExitCode}" : "no shared library";
            return process.ExitCode == 0 && output.Length > 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            problem = e.Message; // not installed
            return null;
        }
    }
}

/// <summary>No shared libpython could be found.</summary>
internal sealed class LibPythonNotFoundException(string message) : Exception(message);
