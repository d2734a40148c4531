using System.Buffers;
using Uring.Cli.Http;

namespace Uring.Cli.Serving;

/// <summary>
/// <c>uring serve http</c>: answers GET and HEAD with "Hello, world" over HTTP/1.1 with
/// keep-alive and pipelining; other methods get 405. Request heads go through
/// <see cref="HttpRequestParser"/>; a malformed request gets its 4xx/5xx and the connection
/// closes. Bodies announced by Content-Length (up to 64 KiB) are read and dropped.
/// </summary>
/// <remarks>
/// <para>Bounds: at most 4 KiB of responses are queued per connection; when that is full the
/// connection sends before it parses further, and it receives again only when everything
/// parsed so far has been answered and sent. A client pipelining without reading is thus held
/// by TCP flow control, and costs the server at most the unparsed rest of one receive plus an
/// incomplete request head (16 KiB) and no ring buffer.</para>
/// <para>Timeouts (watchdog, 100 ms resolution): a request's head — and its body — must arrive
/// within <see cref="ServerSettings.HeaderTimeout"/> of its first byte (of the accept, for the
/// first request), else 408 and close (a connection that sent nothing is just closed); a
/// kept-alive connection idle for <see cref="ServerSettings.IdleTimeout"/> is closed; a send
/// without progress for <see cref="ServerSettings.SendTimeout"/> closes the connection.</para>
/// </remarks>
internal sealed class HttpServer(ServerSettings settings, TextWriter log) : RingServer(settings, log, "http ring")
{
    /// <summary>Largest request body accepted (and dropped); 413 and close beyond.</summary>
    public const long MaxBodyLength = 64 * 1024;

    /// <summary>Responses queued per connection before it must send.</summary>
    public const int OutputCapacity = 4096;

    private readonly OwnershipMemoryPool _outputs = new(OutputCapacity, 64, maxRetained: 256);

    private enum Outcome
    {
        NeedInput,
        OutputFull,
        Close,
    }

    private sealed class HttpConnection(int fd) : Connection(fd)
    {
        public HttpRequestParser Parser;
        public byte[]? Carry;          // unread input: an incomplete line, or what waits for room in Output
        public int CarryLength;
        public long BodyToSkip;
        public OwnershipMemory? Output; // responses not sent yet
        public int OutputLength;
        public long RequestStartedAt;  // TickCount64 of the current request's first byte; 0 while idle

        public bool HasPartialRequest => !Parser.AtRequestStart || CarryLength > 0 || BodyToSkip > 0;
    }

    protected override Connection CreateConnection(int fd) => new HttpConnection(fd);

    protected override async Task ServeConnectionAsync(Connection connection)
    {
        var c = (HttpConnection)connection;
        NetSocket.SetNoDelay(c.Fd);
        c.RequestStartedAt = Environment.TickCount64; // the first request's head timeout runs from the accept
        while (true)
        {
            var deadline = c.RequestStartedAt != 0 ? HeadDeadline(c) : DeadlineAfter(Settings.IdleTimeout);
            ProvidedBuffer lease;
            try
            {
                lease = await ReceiveAsync(c, deadline);
            }
            catch (ConnectionTimeoutException)
            {
                if (c.HasPartialRequest)
                {
                    Append(c, HttpResponses.RequestTimeout);
                    await FlushAsync(c);
                    await CloseGracefullyAsync(c);
                }
                return; // idle, or a connection that never sent a byte: just close
            }
            if (lease.IsEndOfStream)
                return;

            Outcome outcome;
            try
            {
                outcome = Consume(c, lease);
            }
            finally
            {
                ReturnLease(lease); // before any send: a connection waiting on its peer holds no ring buffer
            }
            while (outcome == Outcome.OutputFull)
            {
                await FlushAsync(c);
                outcome = ProcessCarry(c);
            }
            if (c.OutputLength > 0)
                await FlushAsync(c);
            if (outcome == Outcome.Close)
            {
                await CloseGracefullyAsync(c);
                return;
            }
            if (c.HasPartialRequest && c.RequestStartedAt == 0)
                c.RequestStartedAt = Environment.TickCount64;
        }
    }

    private long HeadDeadline(HttpConnection c) =>
        Settings.HeaderTimeout <= TimeSpan.Zero ? 0 : c.RequestStartedAt + (long)Math.Ceiling(Settings.HeaderTimeout.TotalMilliseconds);

    /// <summary>Parses the received bytes (after any carried ones); what is not consumed is carried.</summary>
    private Outcome Consume(HttpConnection c, ProvidedBuffer lease)
    {
        var data = lease.Memory!.Memory[..lease.Length];
        if (c.CarryLength > 0)
        {
            AppendToCarry(c, data.Span);
            return ProcessCarry(c);
        }
        var outcome = Process(c, new ReadOnlySequence<byte>(data), out var consumed);
        if (consumed < data.Length)
            AppendToCarry(c, data.Span[(int)consumed..]);
        return outcome;
    }

    private Outcome ProcessCarry(HttpConnection c)
    {
        var outcome = Process(c, new ReadOnlySequence<byte>(c.Carry!, 0, c.CarryLength), out var consumed);
        var left = c.CarryLength - (int)consumed;
        if (left > 0)
            Buffer.BlockCopy(c.Carry!, (int)consumed, c.Carry!, 0, left);
        c.CarryLength = left;
        if (left == 0)
            ReleaseCarry(c);
        return outcome;
    }

    private Outcome Process(HttpConnection c, ReadOnlySequence<byte> input, out long consumed)
    {
        var reader = new SequenceReader<byte>(input);
        var outcome = Process(c, ref reader);
        consumed = reader.Consumed;
        return outcome;
    }

    private Outcome Process(HttpConnection c, ref SequenceReader<byte> reader)
    {
        while (true)
        {
            if (c.BodyToSkip > 0)
            {
                var skip = Math.Min(c.BodyToSkip, reader.Remaining);
                reader.Advance(skip);
                c.BodyToSkip -= skip;
                if (c.BodyToSkip > 0)
                    return Outcome.NeedInput;
            }
            if (reader.End)
                return Outcome.NeedInput;
            if (c.OutputLength + HttpResponses.MaxLength > OutputCapacity)
                return Outcome.OutputFull; // send what is queued before parsing (and answering) more
            switch (c.Parser.Parse(ref reader))
            {
                case HttpParseStatus.Incomplete:
                    return Outcome.NeedInput;
                case HttpParseStatus.Invalid:
                    Append(c, HttpResponses.Error(c.Parser.ErrorStatus, c.Parser.ErrorReason!));
                    return Outcome.Close;
            }
            if (c.Parser.ContentLength > MaxBodyLength)
            {
                Append(c, HttpResponses.ContentTooLarge);
                return Outcome.Close;
            }
            var keepAlive = c.Parser.KeepAlive;
            Append(c, HttpResponses.For(c.Parser.Method, keepAlive));
            c.BodyToSkip = c.Parser.ContentLength;
            c.Parser.Reset();
            c.RequestStartedAt = 0;
            if (!keepAlive)
                return Outcome.Close; // anything after a closing request is not read
        }
    }

    private void AppendToCarry(HttpConnection c, ReadOnlySpan<byte> bytes)
    {
        // Carried: an incomplete head (at most MaxHeadLength, the parser sees to that) plus one receive.
        c.Carry ??= ArrayPool<byte>.Shared.Rent(HttpRequestParser.MaxHeadLength + Settings.BufferSize);
        if (c.CarryLength + bytes.Length > c.Carry.Length)
            throw new InvalidOperationException($"HTTP input carry overflow: {c.CarryLength} + {bytes.Length} > {c.Carry.Length}.");
        bytes.CopyTo(c.Carry.AsSpan(c.CarryLength));
        c.CarryLength += bytes.Length;
    }

    private static void ReleaseCarry(HttpConnection c)
    {
        if (c.Carry is { } carry)
        {
            c.Carry = null;
            c.CarryLength = 0;
            ArrayPool<byte>.Shared.Return(carry);
        }
    }

    private void Append(HttpConnection c, byte[] response)
    {
        c.Output ??= _outputs.Rent(); // only while there is something to send: idle connections hold none
        response.CopyTo(c.Output.Span[c.OutputLength..]);
        c.OutputLength += response.Length;
    }

    private async ValueTask FlushAsync(HttpConnection c)
    {
        try
        {
            if (c.OutputLength > 0)
                await SendAllAsync(c, c.Output!, c.OutputLength);
        }
        finally
        {
            ReleaseOutput(c);
        }
    }

    private static void ReleaseOutput(HttpConnection c)
    {
        // After a failed send of the whole buffer the façade has already returned it to the pool.
        if (c.Output is { State: OwnershipState.User } output)
            output.Dispose();
        c.Output = null;
        c.OutputLength = 0;
    }

    protected override void OnStopped() => _outputs.Dispose();

    protected override void OnClosed(Connection connection)
    {
        var c = (HttpConnection)connection;
        ReleaseOutput(c);
        ReleaseCarry(c);
    }
}
