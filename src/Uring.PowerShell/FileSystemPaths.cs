using System.Management.Automation;

namespace Uring.PowerShell;

/// <summary>
/// Turns PowerShell paths (relative to the current location, with wildcards for -Path) into
/// file-system paths for openat. A path without wildcards is not checked here: whether it
/// exists is the kernel's answer (ENOENT), reported like every other errno.
/// </summary>
internal static class FileSystemPaths
{
    /// <summary>The file-system paths <paramref name="path"/> stands for. Problems (a wildcard that
    /// matches nothing, another provider's path) are written as errors and yield nothing.</summary>
    public static IEnumerable<string> Resolve(PSCmdlet cmdlet, string path, bool literal)
    {
        var resolved = new List<string>();
        ProviderInfo provider;
        try
        {
            if (!literal && WildcardPattern.ContainsWildcardCharacters(path))
            {
                resolved.AddRange(cmdlet.SessionState.Path.GetResolvedProviderPathFromPSPath(path, out provider));
                if (resolved.Count == 0)
                    throw new ItemNotFoundException($"Cannot find a file that matches '{path}'.");
            }
            else
            {
                resolved.Add(cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out provider, out _));
            }
        }
        catch (Exception e) when (e is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException)
        {
            cmdlet.WriteError(new ErrorRecord(e, "PathNotFound", ErrorCategory.ObjectNotFound, path));
            return Array.Empty<string>();
        }
        if (provider.Name != "FileSystem")
        {
            cmdlet.WriteError(new ErrorRecord(
                new ArgumentException($"'{path}' is a {provider.Name} path; io_uring opens only file-system paths."),
                "NotAFileSystemPath", ErrorCategory.InvalidArgument, path));
            return Array.Empty<string>();
        }
        return resolved;
    }

    /// <summary>One file-system path for <paramref name="path"/> (no wildcards), or null after writing an error.</summary>
    public static string? ResolveOne(PSCmdlet cmdlet, string path)
    {
        var all = Resolve(cmdlet, path, literal: true).ToList();
        return all.Count == 1 ? all[0] : null;
    }
}
