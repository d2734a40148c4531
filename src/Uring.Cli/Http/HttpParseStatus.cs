namespace Uring.Cli.Http;

/// <summary>What <see cref="HttpRequestParser.Parse"/> found.</summary>
public enum HttpParseStatus
{
    /// <summary>The head is not complete: keep the unread bytes and call again with more.</summary>
    Incomplete,

    /// <summary>A whole request head was read; the reader stands at its body (if any) or the next request.</summary>
    Complete,

    /// <summary>The request is malformed or beyond a limit: answer <see cref="HttpRequestParser.ErrorStatus"/> and close.</summary>
    Invalid,
}
