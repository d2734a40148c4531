// Runs a Python script inside this process: CPython is embedded with Python.NET, and the script
// reaches the C# façade with `import clr; clr.AddReference("Uring.Core"); from Uring import Ring`.
//
//   dotnet EmbedPython.dll [SCRIPT [ARGS...]]     (default SCRIPT: drive_ring.py next to the program)
//
// Exit status: the script's (SystemExit), 1 when it raised, 2 when Python could not be embedded.
using Python.Runtime;
using Uring.Examples.EmbedPython;

var script = Path.GetFullPath(args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "drive_ring.py"));
string library, foundBy;
try
{
    (library, foundBy) = LibPython.Locate();
}
catch (LibPythonNotFoundException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
Console.Error.WriteLine($"embedding {library} (from {foundBy})");

Runtime.PythonDLL = library;
PythonEngine.Initialize();
int status;
using (Py.GIL())
{
    status = ScriptRunner.Run(script, args.Skip(1));
}
PythonEngine.Shutdown();
return status;
