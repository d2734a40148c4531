namespace Uring.Bindings;

/// <summary>
/// Lookups over the generated errno table (<c>Generated/LinuxErrno.g.cs</c>, read from the
/// uapi headers): the symbolic name and header message of an errno value.
/// </summary>
public static partial class LinuxErrno
{
    /// <summary>One errno value, the first name the headers give it, and its header comment.</summary>
    public readonly record struct Entry(int Value, string Name, string? Message);

    /// <summary>Every errno value once, ascending.</summary>
    public static IReadOnlyList<Entry> All => s_entries;

    /// <summary>The symbolic name (ECONNRESET for 104), or null for a value the headers do not define.</summary>
    public static string? NameOf(int errno) => Find(errno) is { } entry ? s_entries[entry].Name : null;

    /// <summary>The header's message ("Connection reset by peer" for 104), or null.</summary>
    public static string? MessageOf(int errno) => Find(errno) is { } entry ? s_entries[entry].Message : null;

    private static int? Find(int errno)
    {
        int low = 0, high = s_entries.Length - 1;
        while (low <= high)
        {
            var middle = low + (high - low) / 2;
            var value = s_entries[middle].Value;
            if (value == errno)
                return middle;
            if (value < errno)
                low = middle + 1;
            else
                high = middle - 1;
        }
        return null;
    }
}
