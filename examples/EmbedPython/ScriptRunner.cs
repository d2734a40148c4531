using Python.Runtime;

namespace Uring.Examples.EmbedPython;

/// <summary>Runs a script file as <c>__main__</c> in the embedded interpreter (the caller holds the GIL).</summary>
internal static class ScriptRunner
{
    /// <summary>The script's exit status: 0, its <c>SystemExit</c> code, or 1 if it raised.</summary>
    public static int Run(string script, IEnumerable<string> arguments)
    {
        using var sys = Py.Import("sys");
        using var argv = new PyList();
        foreach (var argument in arguments.Prepend(script))
            argv.Append(new PyString(argument));
        sys.SetAttr("argv", argv);
        try
        {
            // runpy gives the script what `python3 SCRIPT` would: __name__ == "__main__",
            // __file__, and tracebacks that name its lines.
            using var runpy = Py.Import("runpy");
            using var kwargs = new PyDict();
            kwargs["run_name"] = new PyString("__main__");
            runpy.InvokeMethod("run_path", new PyTuple(new PyObject[] { new PyString(script) }), kwargs).Dispose();
            return 0;
        }
        catch (PythonException e) when (e.Type.Name == "SystemExit")
        {
            return ExitCode(e);
        }
        catch (PythonException e)
        {
            Console.Error.WriteLine(e.Format());
            return 1;
        }
        finally
        {
            Flush(sys, "stdout");
            Flush(sys, "stderr");
        }
    }

    private static int ExitCode(PythonException exit)
    {
        using var code = exit.Value?.GetAttr("code");
        if (code is null || code.IsNone())
            return 0;
        if (PyInt.IsIntType(code))
            return code.As<int>();
        Console.Error.WriteLine(code.ToString());
        return 1;
    }

    private static void Flush(PyObject sys, string stream)
    {
        using var file = sys.GetAttr(stream);
        file.InvokeMethod("flush").Dispose();
    }
}
