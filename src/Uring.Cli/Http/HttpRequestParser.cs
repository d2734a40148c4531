using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Uring.Cli.Http;

/// <summary>
/// A small, strict, incremental parser of HTTP/1.1 request heads (RFC 9112): the request line
/// and the header fields, one CRLF-terminated line at a time, from a
/// <see cref="SequenceReader{T}"/> — a span-backed sequence here, a System.IO.Pipelines
/// reader's buffer as well. Complete lines are consumed as they are read, so a caller keeps only
/// the unread rest of an incomplete line; the state in between lives in this struct.
/// </summary>
/// <remarks>
/// <para>Refused with 400: a request line that is not <c>method SP target SP HTTP/d.d</c> with
/// single spaces; a method that is not a token; a target with a control character, a space or
/// a non-ASCII byte, or of a form the method does not allow; a bare LF or a CR not followed by
/// LF; a header name that is not a token (including whitespace before the colon, and obsolete
/// line folding); a control character in a field value; a Content-Length that is not digits,
/// or several that disagree, or one beside Transfer-Encoding; an HTTP/1.1 request without
/// exactly one Host (an HTTP/1.0 one with several); more than 8 empty lines before the request
/// line. Other statuses: 505 for an HTTP major version other than 1, 501 for Transfer-Encoding
/// (no transfer coding is implemented), 414 for a request line over 8 KiB, 431 for a head over
/// 16 KiB or over 100 header fields. A bad byte is refused as soon as it arrives, not only when
/// its line is complete.</para>
/// </remarks>
public struct HttpRequestParser
{
    /// <summary>Longest request line, CRLF included (414 beyond).</summary>
    public const int MaxRequestLineLength = 8 * 1024;

    /// <summary>Longest request head: request line, header lines, final CRLF (431 beyond).</summary>
    public const int MaxHeadLength = 16 * 1024;

    /// <summary>Most header fields in one request (431 beyond).</summary>
    public const int MaxHeaderCount = 100;

    /// <summary>Empty lines tolerated before a request line (RFC 9112 §2.2 asks servers to ignore at least one).</summary>
    public const int MaxLeadingEmptyLines = 8;

    private static readonly SearchValues<byte> s_tokenChars = SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    // Bytes a field value may not contain: controls other than HTAB, and DEL (obs-text 0x80–0xFF is allowed).
    private static readonly SearchValues<byte> s_fieldValueForbidden = SearchValues.Create(
        "\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000A\u000B\u000C\u000D\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F\u007F"u8);

    private bool _inHeaders;
    private int _headLength;
    private int _emptyLines;
    private int _headerCount;
    private int _hostCount;
    private bool _connectionClose, _connectionKeepAlive, _transferEncoding, _sawContentLength;

    /// <summary>The request's method (after <see cref="HttpParseStatus.Complete"/>).</summary>
    public HttpRequestMethod Method { get; private set; }

    /// <summary>The minor version: 1 for HTTP/1.1 (and later 1.x), 0 for HTTP/1.0.</summary>
    public int MinorVersion { get; private set; }

    /// <summary>The Content-Length, or 0 without one.</summary>
    public long ContentLength { get; private set; }

    /// <summary>The status to answer after <see cref="HttpParseStatus.Invalid"/> (400, 414, 431, 501, 505).</summary>
    public int ErrorStatus { get; private set; }

    /// <summary>Why the request was refused, for the response body.</summary>
    public string? ErrorReason { get; private set; }

    /// <summary>True when the connection may carry another request after this one.</summary>
    public readonly bool KeepAlive => MinorVersion >= 1 ? !_connectionClose : _connectionKeepAlive && !_connectionClose;

    /// <summary>True before the first byte of a request has been read (nothing partial is held).</summary>
    public readonly bool AtRequestStart => !_inHeaders && _emptyLines == 0;

    /// <summary>Forgets the last request; call after each <see cref="HttpParseStatus.Complete"/>.</summary>
    public void Reset() => this = default;

    /// <summary>
    /// Reads complete lines from <paramref name="reader"/> until the head is complete, a line is
    /// incomplete (the reader then stands at its start), or the request is refused.
    /// </summary>
    public HttpParseStatus Parse(ref SequenceReader<byte> reader)
    {
        while (true)
        {
            if (!reader.TryReadTo(out ReadOnlySpan<byte> line, (byte)'\n'))
                return CheckIncomplete(reader.UnreadSequence);
            _headLength += line.Length + 1;
            if (!_inHeaders && line.Length + 1 > MaxRequestLineLength)
                return Fail(414, "request line too long");
            if (_headLength > MaxHeadLength)
                return Fail(431, "request head too large");
            if (line.IsEmpty || line[^1] != (byte)'\r')
                return Fail(400, "line not terminated by CRLF");
            line = line[..^1];

            if (!_inHeaders)
            {
                if (line.IsEmpty)
                {
                    if (++_emptyLines > MaxLeadingEmptyLines)
                        return Fail(400, "too many empty lines before the request line");
                    continue;
                }
                if (!ParseRequestLine(line))
                    return HttpParseStatus.Invalid;
                _inHeaders = true;
                continue;
            }
            if (line.IsEmpty)
                return Finish();
            if (++_headerCount > MaxHeaderCount)
                return Fail(431, "too many header fields");
            if (!ParseHeaderLine(line))
                return HttpParseStatus.Invalid;
        }
    }

    /// <summary>Limits and early rejection for the bytes of a line whose LF has not arrived.</summary>
    private HttpParseStatus CheckIncomplete(ReadOnlySequence<byte> pending)
    {
        if (!_inHeaders && pending.Length > MaxRequestLineLength)
            return Fail(414, "request line too long");
        if (_headLength + pending.Length > MaxHeadLength)
            return Fail(431, "request head too large");
        var total = pending.Length;
        long offset = 0;
        foreach (var segment in pending)
        {
            var span = segment.Span;
            // No byte of a request line or header line is a control other than HTAB (and the
            // final CR, which may be the last byte so far); a request line is ASCII only.
            var bad = _inHeaders ? span.IndexOfAny(s_fieldValueForbidden) : span.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E);
            if (bad >= 0 && !(span[bad] == (byte)'\r' && offset + bad == total - 1))
                return Fail(400, _inHeaders ? "control character in a header line" : "invalid byte in the request line");
            offset += span.Length;
        }
        return HttpParseStatus.Incomplete;
    }

    private bool ParseRequestLine(ReadOnlySpan<byte> line)
    {
        var firstSpace = line.IndexOf((byte)' ');
        if (firstSpace <= 0)
            return FailBool(400, "malformed request line");
        var method = line[..firstSpace];
        var rest = line[(firstSpace + 1)..];
        var secondSpace = rest.IndexOf((byte)' ');
        if (secondSpace <= 0)
            return FailBool(400, "malformed request line");
        var target = rest[..secondSpace];
        var version = rest[(secondSpace + 1)..];

        if (method.IndexOfAnyExcept(s_tokenChars) >= 0)
            return FailBool(400, "invalid method");
        Method = method.SequenceEqual("GET"u8) ? HttpRequestMethod.Get : method.SequenceEqual("HEAD"u8) ? HttpRequestMethod.Head : HttpRequestMethod.Other;

        if (target.IndexOfAnyExceptInRange((byte)0x21, (byte)0x7E) >= 0)
            return FailBool(400, "invalid request target");
        if (!IsTargetForm(method, target))
            return FailBool(400, "invalid request target");

        // HTTP-version = "HTTP/" DIGIT "." DIGIT
        if (version.Length != 8 || !version.StartsWith("HTTP/"u8) || !char.IsAsciiDigit((char)version[5]) || version[6] != (byte)'.' || !char.IsAsciiDigit((char)version[7]))
            return FailBool(400, "invalid HTTP version");
        if (version[5] != (byte)'1')
            return FailBool(505, "HTTP version not supported");
        MinorVersion = version[7] == (byte)'0' ? 0 : 1; // HTTP/1.2 and later minors are answered as 1.1
        return true;
    }

    /// <summary>origin-form (/path), absolute-form (scheme://…), asterisk-form (OPTIONS *) or authority-form (CONNECT host:port).</summary>
    private static bool IsTargetForm(ReadOnlySpan<byte> method, ReadOnlySpan<byte> target)
    {
        if (target[0] == (byte)'/')
            return true;
        if (target.Length == 1 && target[0] == (byte)'*')
            return method.SequenceEqual("OPTIONS"u8);
        if (method.SequenceEqual("CONNECT"u8))
            return true;
        var schemeEnd = target.IndexOf("://"u8);
        if (schemeEnd <= 0 || !char.IsAsciiLetter((char)target[0]))
            return false;
        foreach (var b in target[..schemeEnd])
            if (!(char.IsAsciiLetterOrDigit((char)b) || b is (byte)'+' or (byte)'-' or (byte)'.'))
                return false;
        return true;
    }

    private bool ParseHeaderLine(ReadOnlySpan<byte> line)
    {
        var colon = line.IndexOf((byte)':');
        if (colon < 0)
            return FailBool(400, "header line without a colon");
        var name = line[..colon];
        if (name.IsEmpty || name.IndexOfAnyExcept(s_tokenChars) >= 0)
            return FailBool(400, "invalid header name"); // also whitespace before the colon, and obs-fold
        var value = line[(colon + 1)..].Trim(" \t"u8);
        if (value.IndexOfAny(s_fieldValueForbidden) >= 0)
            return FailBool(400, "control character in a header value");

        switch (name.Length)
        {
            case 4 when Ascii.EqualsIgnoreCase(name, "Host"u8):
                _hostCount++;
                if (value.IndexOfAny(" \t,"u8) >= 0)
                    return FailBool(400, "invalid Host");
                break;
            case 10 when Ascii.EqualsIgnoreCase(name, "Connection"u8):
                ParseConnection(value);
                break;
            case 14 when Ascii.EqualsIgnoreCase(name, "Content-Length"u8):
                if (value.IsEmpty || value.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0 || !Utf8Parser.TryParse(value, out long length, out var used) || used != value.Length)
                    return FailBool(400, "invalid Content-Length");
                if (_sawContentLength && length != ContentLength)
                    return FailBool(400, "conflicting Content-Length");
                _sawContentLength = true;
                ContentLength = length;
                break;
            case 17 when Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8):
                _transferEncoding = true;
                break;
        }
        return true;
    }

    private void ParseConnection(ReadOnlySpan<byte> value)
    {
        // Connection = #connection-option: comma-separated tokens, case-insensitive.
        while (!value.IsEmpty)
        {
            var comma = value.IndexOf((byte)',');
            var option = (comma < 0 ? value : value[..comma]).Trim(" \t"u8);
            if (Ascii.EqualsIgnoreCase(option, "close"u8))
                _connectionClose = true;
            else if (Ascii.EqualsIgnoreCase(option, "keep-alive"u8))
                _connectionKeepAlive = true;
            value = comma < 0 ? default : value[(comma + 1)..];
        }
    }

    private HttpParseStatus Finish()
    {
        if (_transferEncoding)
            return _sawContentLength ? Fail(400, "both Transfer-Encoding and Content-Length") : Fail(501, "Transfer-Encoding is not supported");
        if (MinorVersion >= 1 && _hostCount != 1)
            return Fail(400, _hostCount == 0 ? "missing Host" : "more than one Host");
        if (MinorVersion == 0 && _hostCount > 1)
            return Fail(400, "more than one Host");
        return HttpParseStatus.Complete;
    }

    private HttpParseStatus Fail(int status, string reason)
    {
        ErrorStatus = status;
        ErrorReason = reason;
        return HttpParseStatus.Invalid;
    }

    private bool FailBool(int status, string reason)
    {
        Fail(status, reason);
        return false;
    }
}
