using System.Buffers;
using System.Text;
using Uring.Cli.Http;

namespace Uring.Tests;

/// <summary>The HTTP request-head parser on its own: input split anywhere, limits, early refusal.</summary>
public sealed class ServeHttpParserTests
{
    private const string Pipeline =
        "\r\nGET /a HTTP/1.1\r\nHost: x\r\nConnection: close, foo\r\n\r\n" +
        "HEAD http://example.com/b HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n" +
        "POST /c HTTP/1.1\r\nHost: y\r\nContent-Length: 007\r\nX-Empty:\r\n\r\n";

    /// <summary>Parses every head of <paramref name="input"/>, fed as segments cut at <paramref name="cuts"/>, keeping unread bytes as a caller would.</summary>
    private static List<string> ParseAll(byte[] input, int[] cuts)
    {
        var results = new List<string>();
        var parser = new HttpRequestParser();
        var pending = new List<byte>();
        var start = 0;
        foreach (var end in cuts.Append(input.Length))
        {
            pending.AddRange(input[start..end]);
            start = end;
            var sequence = Segments(pending.ToArray(), pending.Count / 2); // two segments: lines may span them
            var reader = new SequenceReader<byte>(sequence);
            while (true)
            {
                var status = parser.Parse(ref reader);
                if (status == HttpParseStatus.Incomplete)
                    break;
                Assert.Equal(HttpParseStatus.Complete, status);
                results.Add($"{parser.Method} 1.{parser.MinorVersion} keep-alive={parser.KeepAlive} length={parser.ContentLength}");
                parser.Reset();
            }
            pending.RemoveRange(0, (int)reader.Consumed);
        }
        Assert.True(parser.AtRequestStart);
        return results;
    }

    private static ReadOnlySequence<byte> Segments(byte[] data, int split)
    {
        if (split <= 0 || split >= data.Length)
            return new ReadOnlySequence<byte>(data);
        var first = new Segment(data.AsMemory(0, split));
        var last = first.Append(data.AsMemory(split));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }

    [Fact]
    public void Heads_split_at_any_byte_parse_the_same()
    {
        var input = Encoding.ASCII.GetBytes(Pipeline.Replace("007\r\nX-Empty:\r\n\r\n", "000\r\nX-Empty:\r\n\r\n"));
        string[] expected =
        [
            "Get 1.1 keep-alive=False length=0",
            "Head 1.0 keep-alive=True length=0",
            "Other 1.1 keep-alive=True length=0",
        ];
        Assert.Equal(expected, ParseAll(input, []));
        for (var cut = 1; cut < input.Length; cut++)
            Assert.Equal(expected, ParseAll(input, [cut]));
        Assert.Equal(expected, ParseAll(input, Enumerable.Range(1, input.Length - 1).ToArray())); // one byte at a time
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r", HttpParseStatus.Incomplete)]        // the CR may be the end of the line
    [InlineData("GET / HTTP/1.1\rX", HttpParseStatus.Invalid)]          // a CR inside a line is refused at once
    [InlineData("GET /\tx", HttpParseStatus.Invalid)]                   // so is a tab in the request line
    [InlineData("GET / HTTP/1.1\r\nHost: a\u0000", HttpParseStatus.Invalid)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\tb", HttpParseStatus.Incomplete)]
    public void Bad_bytes_are_refused_before_the_line_ends(string input, HttpParseStatus expected)
    {
        var parser = new HttpRequestParser();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(input)));
        Assert.Equal(expected, parser.Parse(ref reader));
        if (expected == HttpParseStatus.Invalid)
            Assert.Equal(400, parser.ErrorStatus);
    }

    [Theory]
    [InlineData(HttpRequestParser.MaxRequestLineLength - 16, HttpParseStatus.Complete)]
    [InlineData(HttpRequestParser.MaxRequestLineLength + 1, HttpParseStatus.Invalid)]
    public void The_request_line_limit_holds_whether_or_not_the_line_is_complete(int targetLength, HttpParseStatus expected)
    {
        var line = $"GET /{new string('a', targetLength)} HTTP/1.1\r\n";
        foreach (var input in new[] { line + "Host: x\r\n\r\n", line[..^2] })
        {
            var parser = new HttpRequestParser();
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(input)));
            var status = parser.Parse(ref reader);
            if (expected == HttpParseStatus.Invalid)
            {
                Assert.Equal(HttpParseStatus.Invalid, status);
                Assert.Equal(414, parser.ErrorStatus);
            }
            else
            {
                Assert.Equal(input.EndsWith("\r\n\r\n") ? HttpParseStatus.Complete : HttpParseStatus.Incomplete, status);
            }
        }
    }
}
