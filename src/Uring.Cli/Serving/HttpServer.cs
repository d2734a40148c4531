using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Uring.Cli.Http;

namespace Uring.Cli.Serving;

/// <summary>
/// <c>uring serve http</c>: answers GET and HEAD with "Hello, world" over HTTP/1.1 with
/// keep-alive and pipelining; other methods get 405. Each connection is a <see cref="SocketPipe"/>:
/// request heads are parsed by <see cref="HttpRequestParser"/> straight from the input pipe's
/// buffer, responses are written into the output pipe. A malformed request gets its 4xx/5xx and
/// the connection closes. Bodies announced by Content-Length (up to 64 KiB) are read and dropped.
/// </summary>
/// <remarks>
/// <para>Receiving: one buffer-select receive at a time from the server's provided buffer ring,
/// copied into the input pipe and the buffer given straight back, so a connection holds a ring
/// buffer only for that copy and an idle connection holds no memory at all.</para>
/// <para>Bounds: the output pipe pauses at 4 KiB of unsent responses; a connection with that
/// much queued sends before it parses further. The input pipe pauses at
/// <see cref="HttpRequestParser.MaxHeadLength"/> plus one ring buffer of unread input, so a
/// client pipelining without reading the answers is held by TCP flow control and costs the
/// server at most that much input and 4 KiB of output, and no ring buffer.</para>
/// <para>Timeouts (the watchdog, 100 ms resolution): a request's head — and its body — must
/// arrive within <see cref="ServerSettings.HeaderTimeout"/> of its first byte (of the accept, for
/// the first request), else 408 and close (a connection that sent nothing is just closed); a
/// kept-alive connection idle for <see cref="ServerSettings.IdleTimeout"/> is closed; a flush
/// that cannot go on for <see cref="ServerSettings.SendTimeout"/> (the peer takes no data) aborts
/// the connection.</para>
/// <para>Everything, the pipes' loops included, runs on the ring's loop thread (pipe
/// continuations run inline, and the pipe waits for ring buffers on the thread that returns
/// them), as the rest of the server does.</para>
/// </remarks>
internal sealed class HttpServer(ServerSettings settings, TextWriter log) : RingServer(settings, log, "http ring")
{
    /// <summary>Largest request body accepted (and dropped); 413 and close beyond.</summary>
    public const long MaxBodyLength = 64 * 1024;

    /// <summary>Unsent responses per connection before it must send.</summary>
    public const int OutputCapacity = 4096;

    private const int BlockSize = 4096;
    private static readonly TimeSpan LingerTime = TimeSpan.FromSeconds(2);
    private const int LingerBytes = 256 * 1024;

    private readonly PinnedBlockPool _blocks = new(BlockSize, maxRetained: 1024);
    private SocketPipeOptions? _pipeOptions;

    /// <summary>
    /// Loads, at start-up, the assemblies the connections use: loading one later opens its file,
    /// which fails once the process is out of descriptors — just when the server must keep serving
    /// (System.IO.Pipelines at a connection's first pipe; System.Net.Primitives at its FIN).
    /// </summary>
    static HttpServer()
    {
        var probe = new Pipe(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));
        probe.Writer.Write("x"u8);
        _ = probe.Writer.FlushAsync();
        if (probe.Reader.TryRead(out var read))
            probe.Reader.AdvanceTo(read.Buffer.End);
        probe.Writer.Complete();
        probe.Reader.Complete();
        _ = typeof(System.Net.Sockets.SocketShutdown).Assembly;
    }

    private enum Outcome
    {
        NeedInput,
        OutputFull,
        Close,
    }

    private sealed class HttpConnection(int fd) : Connection(fd)
    {
        public SocketPipe? Pipe;
        public HttpRequestParser Parser;
        public long BodyToSkip;
        public long Unconsumed;        // input read but not consumed: an incomplete line
        public long RequestStartedAt;  // TickCount64 of the current request's first byte; 0 while idle

        public bool HasPartialRequest => !Parser.AtRequestStart || Unconsumed > 0 || BodyToSkip > 0;
    }

    protected override Connection CreateConnection(int fd) => new HttpConnection(fd);

    private SocketPipeOptions PipeOptions => _pipeOptions ??= new SocketPipeOptions
    {
        ReceiveBuffers = Buffers,
        OwnsSocket = false, // RingServer closes it
        CloseTimeout = Timeout.InfiniteTimeSpan, // the watchdog bounds every wait instead (no timer threads)
        InputOptions = new PipeOptions(_blocks, PipeScheduler.Inline, PipeScheduler.Inline,
            pauseWriterThreshold: HttpRequestParser.MaxHeadLength + Settings.BufferSize,
            resumeWriterThreshold: (HttpRequestParser.MaxHeadLength + Settings.BufferSize) / 2,
            minimumSegmentSize: BlockSize, useSynchronizationContext: false),
        OutputOptions = new PipeOptions(_blocks, PipeScheduler.Inline, PipeScheduler.Inline,
            pauseWriterThreshold: OutputCapacity, resumeWriterThreshold: OutputCapacity / 2,
            minimumSegmentSize: BlockSize, useSynchronizationContext: false),
    };

    protected override async Task ServeConnectionAsync(Connection connection)
    {
        var c = (HttpConnection)connection;
        NetSocket.SetNoDelay(c.Fd);
        var pipe = c.Pipe = new SocketPipe(Ring, c.Fd, PipeOptions);
        try
        {
            c.RequestStartedAt = Environment.TickCount64; // the first request's head timeout runs from the accept
            while (true)
            {
                var result = await ReadAsync(c, c.RequestStartedAt != 0 ? HeadDeadline(c) : DeadlineAfter(Settings.IdleTimeout));
                if (result.IsCanceled)
                {
                    // The watchdog: the head (or the body) did not arrive in time, or the connection was idle too long.
                    if (c.HasPartialRequest)
                    {
                        pipe.Output.Write(HttpResponses.RequestTimeout);
                        await CloseGracefullyAsync(c);
                    }
                    return; // idle, or a connection that never sent a byte: just close
                }

                var buffer = result.Buffer;
                var position = buffer.Start;
                Outcome outcome;
                while ((outcome = Process(c, buffer.Slice(position), out position)) == Outcome.OutputFull)
                    await FlushAsync(c); // send what is queued before parsing (and answering) more
                c.Unconsumed = buffer.Slice(position).Length;
                pipe.Input.AdvanceTo(position, buffer.End); // an incomplete line stays: the parser needs more input
                if (outcome == Outcome.Close)
                {
                    await CloseGracefullyAsync(c);
                    return;
                }
                await FlushAsync(c);
                if (result.IsCompleted)
                {
                    // The peer sent its FIN: what is answered goes out, then ours.
                    await FinishSendingAsync(c);
                    return;
                }
                if (c.HasPartialRequest && c.RequestStartedAt == 0)
                    c.RequestStartedAt = Environment.TickCount64;
            }
        }
        finally
        {
            // Whatever ended the connection, stop both directions; the kernel is done with every
            // buffer once DisposeAsync returns, and RingServer then closes the socket.
            pipe.Abort();
            await pipe.DisposeAsync();
        }
    }

    private long HeadDeadline(HttpConnection c) =>
        Settings.HeaderTimeout <= TimeSpan.Zero ? 0 : c.RequestStartedAt + (long)Math.Ceiling(Settings.HeaderTimeout.TotalMilliseconds);

    /// <summary>Reads the input pipe; past <paramref name="deadline"/> the watchdog cancels the read (IsCanceled).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // one per request: no allocation when it waits
    private static async ValueTask<ReadResult> ReadAsync(HttpConnection c, long deadline)
    {
        c.BeginWait(ConnectionWait.Receive, deadline);
        try
        {
            return await c.Pipe!.Input.ReadAsync();
        }
        finally
        {
            c.EndWait();
        }
    }

    /// <summary>Flushes the output pipe; it waits while 4 KiB are unsent, and the watchdog aborts the connection when that lasts the send timeout.</summary>
    private ValueTask FlushAsync(HttpConnection c) =>
        c.Pipe!.Output.UnflushedBytes == 0 ? ValueTask.CompletedTask : WaitFlushedAsync(c, c.Pipe.Output.FlushAsync());

    private async ValueTask WaitFlushedAsync(HttpConnection c, ValueTask<FlushResult> flush)
    {
        if (!flush.IsCompleted)
        {
            c.BeginWait(ConnectionWait.Send, DeadlineAfter(Settings.SendTimeout));
        }
        try
        {
            if ((await flush).IsCompleted)
                throw new OperationCanceledException("The connection stopped sending."); // (its errors are thrown by the flush itself)
        }
        finally
        {
            c.EndWait();
        }
    }

    /// <summary>Completes the output (the rest is sent, then FIN) and waits, bounded by the send timeout, until it is sent.</summary>
    private async Task FinishSendingAsync(HttpConnection c)
    {
        var pipe = c.Pipe!;
        await pipe.Output.CompleteAsync();
        pipe.Input.Complete();
        c.BeginWait(ConnectionWait.Send, DeadlineAfter(Settings.SendTimeout));
        try
        {
            await pipe.Completion;
        }
        finally
        {
            c.EndWait();
        }
    }

    /// <summary>
    /// Ends a connection after a response that closes it: the response, then FIN; then read and
    /// drop what the client still sends (for up to 2 s or 256 KiB), so that closing with unread
    /// data does not reset the connection and destroy the response before the client has read it.
    /// </summary>
    private async Task CloseGracefullyAsync(HttpConnection c)
    {
        var pipe = c.Pipe!;
        await pipe.Output.CompleteAsync();
        var deadline = DeadlineAfter(LingerTime);
        long drained = 0;
        while (drained < LingerBytes)
        {
            var result = await ReadAsync(c, deadline);
            if (result.IsCanceled)
                break;
            drained += result.Buffer.Length;
            pipe.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
                break;
        }
        await FinishSendingAsync(c);
    }

    private Outcome Process(HttpConnection c, ReadOnlySequence<byte> input, out SequencePosition position)
    {
        var reader = new SequenceReader<byte>(input);
        var outcome = Process(c, ref reader);
        position = reader.Position;
        return outcome;
    }

    private static Outcome Process(HttpConnection c, ref SequenceReader<byte> reader)
    {
        var output = c.Pipe!.Output;
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
            if (output.UnflushedBytes + HttpResponses.MaxLength > OutputCapacity)
                return Outcome.OutputFull;
            switch (c.Parser.Parse(ref reader))
            {
                case HttpParseStatus.Incomplete:
                    return Outcome.NeedInput;
                case HttpParseStatus.Invalid:
                    output.Write(HttpResponses.Error(c.Parser.ErrorStatus, c.Parser.ErrorReason!));
                    return Outcome.Close;
            }
            if (c.Parser.ContentLength > MaxBodyLength)
            {
                output.Write(HttpResponses.ContentTooLarge);
                return Outcome.Close;
            }
            var keepAlive = c.Parser.KeepAlive;
            output.Write(HttpResponses.For(c.Parser.Method, keepAlive));
            c.BodyToSkip = c.Parser.ContentLength;
            c.Parser.Reset();
            c.RequestStartedAt = 0;
            if (!keepAlive)
                return Outcome.Close; // anything after a closing request is not read
        }
    }

    /// <summary>The watchdog: a read past its deadline is cancelled (the loop answers 408 or closes);
    /// a flush or a final send past the send timeout aborts the connection.</summary>
    protected override bool OnDeadline(Connection connection)
    {
        var c = (HttpConnection)connection;
        switch (c.Waiting)
        {
            case ConnectionWait.Receive:
                c.TimedOut = true;
                c.Pipe!.Input.CancelPendingRead();
                return true;
            case ConnectionWait.Send:
                c.TimedOut = true;
                c.Pipe!.Abort(new ConnectionTimeoutException(ConnectionWait.Send));
                return true;
        }
        return false;
    }

    protected override void OnStopped() => _blocks.Dispose();
}
