using System.Text;

namespace Uring.Generator.Operations;

/// <summary>
/// The one rule that names an operation in Python after its C# name: the C# name in snake_case,
/// where <c>Receive</c> becomes <c>recv</c>, <c>Zero</c>+<c>Copy</c> becomes <c>zc</c> and
/// <c>Message</c> becomes <c>msg</c> (the words of Python's socket and os modules), and
/// <c>V</c>, <c>msg</c> and a final <c>At</c> join the word before them (ReadV → readv,
/// SendMessage → sendmsg, OpenAt → openat). <c>Close</c> becomes <c>close_fd</c>, because
/// <c>Ring.close()</c> closes the ring itself, as every Python resource's close() does.
/// Parameters follow the same snake_case (without the word replacements).
/// </summary>
internal static class Naming
{
    public static string Python(string csharpName)
    {
        if (csharpName == "Close")
            return "close_fd";
        var words = Words(csharpName);
        var output = new List<string>();
        for (var i = 0; i < words.Count; i++)
        {
            var word = words[i];
            if (word == "Zero" && i + 1 < words.Count && words[i + 1] == "Copy")
            {
                output.Add("zc");
                i++;
                continue;
            }
            var lower = word switch
            {
                "Receive" => "recv",
                "Message" => "msg",
                _ => word.ToLowerInvariant(),
            };
            var joins = output.Count > 0 && (word == "V" || word == "Message" || (word == "At" && i == words.Count - 1));
            if (joins)
                output[^1] += lower;
            else
                output.Add(lower);
        }
        return string.Join("_", output);
    }

    /// <summary>camelCase or PascalCase to snake_case (fdIn → fd_in, RingCreate → ring_create).</summary>
    public static string SnakeCase(string name) => string.Join("_", Words(name).Select(w => w.ToLowerInvariant()));

    private static List<string> Words(string name)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        foreach (var c in name)
        {
            if (char.IsUpper(c) && current.Length > 0)
            {
                words.Add(current.ToString());
                current.Clear();
            }
            current.Append(c);
        }
        if (current.Length > 0)
            words.Add(current.ToString());
        return words;
    }
}
