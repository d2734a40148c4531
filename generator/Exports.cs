using System.Diagnostics;

namespace Uring.Generator;

/// <summary>The functions a shared library exports, read with binutils' nm.</summary>
internal static class Exports
{
    public static HashSet<string> Read(string library)
    {
        var start = new ProcessStartInfo("nm", ["-D", "--defined-only", library]) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("nm (binutils) could not be started");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException("nm was not found: install binutils");
        }
        using (process)
        {
            var errors = process.StandardError.ReadToEndAsync();
            var names = new HashSet<string>(StringComparer.Ordinal);
            string? line;
            while ((line = process.StandardOutput.ReadLine()) is not null)
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 3 && parts[1] is "T" or "W" or "i")
                    names.Add(parts[2].Split('@')[0]);
            }
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"nm could not read {library}: {errors.Result.Trim()}");
            return names;
        }
    }
}
