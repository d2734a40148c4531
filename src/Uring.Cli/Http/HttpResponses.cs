using System.Text;

namespace Uring.Cli.Http;

/// <summary>The responses of <c>uring serve http</c>, built once.</summary>
internal static class HttpResponses
{
    private const string Hello = "Hello, world\n";

    public static readonly byte[] OkKeepAlive = Build(200, "keep-alive", Hello);
    public static readonly byte[] OkClose = Build(200, "close", Hello);
    public static readonly byte[] HeadKeepAlive = Build(200, "keep-alive", Hello, headOnly: true);
    public static readonly byte[] HeadClose = Build(200, "close", Hello, headOnly: true);
    public static readonly byte[] MethodNotAllowedKeepAlive = Build(405, "keep-alive", "only GET and HEAD are served\n", allow: true);
    public static readonly byte[] MethodNotAllowedClose = Build(405, "close", "only GET and HEAD are served\n", allow: true);
    public static readonly byte[] RequestTimeout = Build(408, "close", "the request did not arrive in time\n");
    public static readonly byte[] ContentTooLarge = Build(413, "close", "request bodies are limited to 64 KiB\n");

    /// <summary>An upper bound on the length of any response here (error reasons are short).</summary>
    public const int MaxLength = 256;

    /// <summary>The answer to a request the parser refused; the connection closes after it.</summary>
    public static byte[] Error(int status, string reason) => Build(status, "close", reason + "\n");

    /// <summary>The answer to a complete request.</summary>
    public static byte[] For(HttpRequestMethod method, bool keepAlive) => method switch
    {
        HttpRequestMethod.Get => keepAlive ? OkKeepAlive : OkClose,
        HttpRequestMethod.Head => keepAlive ? HeadKeepAlive : HeadClose,
        _ => keepAlive ? MethodNotAllowedKeepAlive : MethodNotAllowedClose,
    };

    private static byte[] Build(int status, string connection, string body, bool headOnly = false, bool allow = false)
    {
        var head = new StringBuilder()
            .Append($"HTTP/1.1 {status} {Reason(status)}\r\n")
            .Append(allow ? "Allow: GET, HEAD\r\n" : "")
            .Append($"Content-Type: text/plain\r\nContent-Length: {Encoding.ASCII.GetByteCount(body)}\r\nConnection: {connection}\r\n\r\n")
            .Append(headOnly ? "" : body)
            .ToString();
        var bytes = Encoding.ASCII.GetBytes(head);
        if (bytes.Length > MaxLength)
            throw new InvalidOperationException($"A {status} response of {bytes.Length} bytes exceeds {MaxLength}.");
        return bytes;
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    };
}
