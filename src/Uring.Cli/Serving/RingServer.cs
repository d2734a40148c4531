using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Uring.Bindings;

namespace Uring.Cli.Serving;

/// <summary>
/// What the façade servers share: the listener and its multishot accept, the provided buffer
/// ring, the connection table, and the watchdog that enforces every connection's deadline.
/// </summary>
/// <remarks>
/// <para><b>One thread.</b> After start-up every continuation runs on the ring's loop thread
/// (the façade runs them inline there), so the server's state needs no locks, and the server
/// needs no new thread and no new file descriptor to keep going. Both matter when the process
/// is out of descriptors: .NET's runtime creates a pipe for every thread it starts, so
/// <c>Task.Run</c> or a thread-pool timer then fails (Thread.StartCore reports the failed
/// pipe2 as an OutOfMemoryException). Timers are ring timeouts; stopping is polled.</para>
/// <para><b>Out of descriptors.</b> EMFILE/ENFILE (or ENOBUFS/ENOMEM) pause the accept
/// (<see cref="ResilientAccept"/>: re-armed after <see cref="ServerSettings.AcceptBackoff"/>, 10 ms
/// doubling to 250 ms, or as soon as a connection closes, since its descriptor is then free). The
/// server says so on stderr (at most once a minute) and keeps serving its connections; clients
/// wait in the listen backlog meanwhile.</para>
/// <para><b>Fair buffers.</b> A connection receives either with one-shot buffer-select receives
/// (<see cref="ReceiveAsync"/>), so it holds at most one ring buffer and asks for the next data
/// only after it has dealt with the last; or with a bounded multishot receive
/// (<see cref="OpenReceiveStream"/>), which stays armed and pauses when the connection falls
/// behind by its bound. Either way a peer that does not read stops being read. A one-shot
/// receive that finds the ring empty (ENOBUFS; the data stays in the socket) waits in a FIFO
/// queue for the next buffer returned; a multishot receive waits for a return by itself.
/// (<see cref="HttpServer"/>'s connections receive through a <see cref="SocketPipe"/> from the
/// same ring, under the same rules.)</para>
/// </remarks>
internal abstract class RingServer(ServerSettings settings, TextWriter log, string threadName)
{
    private const int ENOBUFS = LinuxErrno.ENOBUFS;
    private static readonly TimeSpan WatchdogTick = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan AcceptReportInterval = TimeSpan.FromMinutes(1);

    private readonly List<Connection> _connections = new();
    private readonly Queue<Connection> _bufferWaiters = new();
    private readonly CancellationTokenSource _acceptStop = new();
    private int _listener = -1;
    private bool _stopping;

    private ResilientAccept? _accept;
    private bool _pauseReported; // the current pause was said on stderr
    private long _lastPauseReport = long.MinValue / 2;

    protected ServerSettings Settings { get; } = settings;

    protected internal Ring Ring { get; private set; } = null!;

    protected internal BufferRing Buffers { get; private set; } = null!;

    /// <summary>Serves until <paramref name="stop"/> is cancelled (noticed within 100 ms); <paramref name="ready"/> gets the bound end point.</summary>
    public async Task RunAsync(Action<IPEndPoint> ready, CancellationToken stop)
    {
        Ring = new Ring(new RingOptions { Entries = 1024, CompletionQueueEntries = 8192, ThreadName = threadName });
        try
        {
            _listener = NetSocket.OpenTcpListener(Settings.EndPoint, Settings.Backlog);
            Buffers = Ring.CreateBufferRing(Settings.BufferCount, Settings.BufferSize);
            // From here on this method, and everything it starts, runs on the loop thread: its state
            // is unsynchronised, and nothing may need a thread-pool thread (a new one takes a
            // descriptor, and the server must keep working without any).
            await Ring.SwitchToOwnerThread();
            ready(NetSocket.GetLocalEndPoint(_listener));
            _ = WatchdogAsync(stop);
            await AcceptLoopAsync();
        }
        finally
        {
            _stopping = true;
            WakeBufferWaiters(int.MaxValue); // they see _stopping and close
            // On the loop thread, Dispose shuts the ring down right here: it cancels every
            // connection's operation and runs their continuations, which close the sockets,
            // before it returns. Only then may the buffer ring's memory go.
            Ring.Dispose();
            Buffers?.Dispose();
            for (var i = _connections.Count - 1; i >= 0; i--)
                CloseConnection(_connections[i]);
            if (_listener >= 0)
                NetSocket.Close(_listener);
            OnStopped();
        }
    }

    /// <summary>Serves one connection until it ends; the caller closes it. Throw (or return) to end it.</summary>
    protected abstract Task ServeConnectionAsync(Connection connection);

    /// <summary>Creates the state for an accepted socket.</summary>
    protected virtual Connection CreateConnection(int fd) => new(fd);

    /// <summary>Called once after the ring and every connection are gone.</summary>
    protected virtual void OnStopped()
    {
    }

    /// <summary>Called once when a connection is closed (release per-connection memory here).</summary>
    protected virtual void OnClosed(Connection connection)
    {
    }

    // ------------------------------------------------------------------ accept

    private async Task AcceptLoopAsync()
    {
        _accept = Ring.AcceptMultishotResilient(_listener, Settings.AcceptBackoff);
        _accept.Paused += OnAcceptPaused;
        _accept.Resumed += OnAcceptResumed;
        try
        {
            await foreach (var fd in _accept.WithCancellation(_acceptStop.Token))
                StartConnection(fd);
            // the listener was shut down
        }
        catch (OperationCanceledException) when (_stopping)
        {
        }
    }

    private void OnAcceptPaused(object? sender, AcceptPauseEventArgs e)
    {
        var now = Environment.TickCount64;
        _pauseReported = now - _lastPauseReport >= (long)AcceptReportInterval.TotalMilliseconds;
        if (!_pauseReported)
            return;
        _lastPauseReport = now;
        Log($"uring serve: cannot accept connections: {Marshal.GetPInvokeErrorMessage(e.Error.Errno)} ({e.Error.ErrnoName}); " +
            $"serving the {_connections.Count} open connections and retrying, new ones wait in the listen backlog (said at most once a minute)");
    }

    private void OnAcceptResumed(object? sender, AcceptPauseEventArgs e)
    {
        if (_pauseReported)
            Log($"uring serve: accepting connections again after {e.PausedFor.TotalSeconds:F1} s ({e.FailedAttempts} failed attempts)");
    }

    private void StartConnection(int fd)
    {
        var connection = CreateConnection(fd);
        connection.Slot = _connections.Count;
        _connections.Add(connection);
        _ = RunConnectionAsync(connection);
    }

    private async Task RunConnectionAsync(Connection connection)
    {
        try
        {
            await ServeConnectionAsync(connection);
        }
        catch (Exception e) when (IsConnectionEnd(e))
        {
        }
        catch (Exception e)
        {
            // A bug in one connection must not take the others down.
            Log($"uring serve: connection closed after an unexpected {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            CloseConnection(connection);
        }
    }

    /// <summary>The ways a connection ends that are nobody's fault here: the peer reset or went away, a timeout, the server stopping.</summary>
    protected static bool IsConnectionEnd(Exception e) =>
        e is UringIOException or RingDisposedException or OperationCanceledException or ConnectionTimeoutException or ObjectDisposedException;

    private void CloseConnection(Connection connection)
    {
        if (connection.Closed)
            return;
        connection.Closed = true;
        var slot = connection.Slot;
        var last = _connections[^1];
        _connections[slot] = last;
        last.Slot = slot;
        _connections.RemoveAt(_connections.Count - 1);
        connection.Slot = -1;
        NetSocket.Close(connection.Fd);
        connection.StreamStop?.Dispose();
        OnClosed(connection);
        if (_accept is { IsPaused: true })
            _accept.RetryNow(); // a descriptor is free: accepting tries again now, not after its back-off
    }

    // ------------------------------------------------------------------ watchdog

    private async Task WatchdogAsync(CancellationToken stop)
    {
        while (!_stopping)
        {
            try
            {
                await Ring.Timeout(WatchdogTick);
            }
            catch (Exception e) when (e is RingDisposedException or OperationCanceledException)
            {
                return;
            }
            if (stop.IsCancellationRequested)
            {
                BeginStop();
                return;
            }
            var now = Environment.TickCount64;
            for (var i = _connections.Count - 1; i >= 0; i--)
            {
                if (i >= _connections.Count)
                    continue; // an expiry closed connections at the end of the table
                var c = _connections[i];
                if (c.Deadline != 0 && now >= c.Deadline)
                    Expire(c);
            }
            // Safety net for a wake-up lost between a buffer's return and a waiter's ENOBUFS.
            if (_bufferWaiters.Count > 0 && Buffers.Available > 0)
                WakeBufferWaiters(Buffers.Available);
        }
    }

    private void BeginStop()
    {
        _stopping = true;
        _acceptStop.Cancel(); // on the loop thread: the accept stream (and a back-off it waits out) ends there
    }

    /// <summary>A connection's deadline passed while it waited (loop thread). True when the server
    /// handled it itself; otherwise the wait named by <see cref="Connection.Waiting"/> is cancelled.</summary>
    protected virtual bool OnDeadline(Connection c) => false;

    private void Expire(Connection c)
    {
        c.Deadline = 0;
        if (OnDeadline(c))
            return;
        switch (c.Waiting)
        {
            case ConnectionWait.Receive:
                c.TimedOut = true;
                CancelQuietly(c.PendingReceive);
                break;
            case ConnectionWait.Send:
                c.TimedOut = true;
                CancelQuietly(c.PendingSend);
                break;
            case ConnectionWait.ReceiveStream:
                c.TimedOut = true;
                c.StreamStop!.Cancel(); // the stream's last CQE ends the wait
                break;
            case ConnectionWait.Buffer:
                c.TimedOut = true;
                c.Waiting = ConnectionWait.None;
                var wait = c.BufferWait!;
                c.BufferWait = null;
                wait.SetResult(false);
                break;
        }
    }

    private static void CancelQuietly<T>(CancelableFuture<T> future)
    {
        try
        {
            _ = future.Cancel(); // the operation's own CQE ends the wait; the outcome does not matter
        }
        catch (Exception e) when (e is InvalidOperationException or RingDisposedException)
        {
        }
    }

    // ------------------------------------------------------------------ receive, send, buffers

    /// <summary>A deadline <paramref name="after"/> from now; 0 (no deadline) for a zero timeout.</summary>
    protected static long DeadlineAfter(TimeSpan after) =>
        after <= TimeSpan.Zero ? 0 : Environment.TickCount64 + (long)Math.Ceiling(after.TotalMilliseconds);

    /// <summary>
    /// One buffer-select receive: the kernel picks a ring buffer only when data arrives. Waits
    /// its turn when the ring is empty. Dispose the lease with <see cref="ReturnLease"/>.
    /// </summary>
    /// <exception cref="ConnectionTimeoutException"><paramref name="deadline"/> passed first.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    protected async ValueTask<ProvidedBuffer> ReceiveAsync(Connection c, long deadline)
    {
        while (true)
        {
            var receive = Ring.ReceiveProvided(c.Fd, Buffers);
            c.PendingReceive = receive;
            c.BeginWait(ConnectionWait.Receive, deadline);
            try
            {
                return await receive;
            }
            catch (OperationCanceledException) when (c.TimedOut)
            {
                throw new ConnectionTimeoutException(ConnectionWait.Receive);
            }
            catch (UringIOException e) when (e.Errno == ENOBUFS)
            {
                // Every buffer is out; the data waits in the socket. Queue for the next one.
            }
            finally
            {
                c.EndWait();
                c.PendingReceive = default;
            }
            if (_stopping || !await WaitForBufferAsync(c, deadline) || _stopping)
                throw c.TimedOut ? new ConnectionTimeoutException(ConnectionWait.Buffer) : new OperationCanceledException("The server is stopping.");
        }
    }

    /// <summary>
    /// The connection's multishot receive from the buffer ring, bounded to
    /// <paramref name="maxQueued"/> leases ahead of the consumer. Around each wait for a lease,
    /// call <see cref="BeginReceiveWait"/> and <see cref="EndReceiveWait"/> (they keep the idle
    /// timeout); give each lease back with <see cref="ReturnLease"/>; dispose the stream when done.
    /// </summary>
    protected IAsyncEnumerator<ProvidedBuffer> OpenReceiveStream(Connection c, int maxQueued)
    {
        var token = CancellationToken.None;
        if (Settings.IdleTimeout > TimeSpan.Zero)
        {
            c.StreamStop = new CancellationTokenSource();
            token = c.StreamStop.Token;
        }
        return Ring.ReceiveMultishot(c.Fd, Buffers, maxQueued).GetAsyncEnumerator(token);
    }

    /// <summary>The connection waits for its stream's next lease: the idle timeout runs (if there is one).</summary>
    protected void BeginReceiveWait(Connection c)
    {
        if (c.StreamStop is null)
            return;
        c.BeginWait(ConnectionWait.ReceiveStream, DeadlineAfter(Settings.IdleTimeout));
    }

    /// <summary>The wait begun by <see cref="BeginReceiveWait"/> is over; <paramref name="error"/> (what it
    /// threw, if anything) becomes a <see cref="ConnectionTimeoutException"/> when the watchdog ended it.</summary>
    protected static Exception? EndReceiveWait(Connection c, Exception? error = null)
    {
        c.EndWait();
        return error is OperationCanceledException && c.TimedOut ? new ConnectionTimeoutException(ConnectionWait.Receive) : error;
    }

    /// <summary>
    /// Starts one send of <paramref name="count"/> bytes of <paramref name="buffer"/> from
    /// <paramref name="offset"/>, under the send timeout. Await it in the connection's own method
    /// (no helper state machine per send), then call <see cref="EndSend"/>.
    /// </summary>
    protected CancelableFuture<BufferResult<OwnershipMemory>> BeginSend(Connection c, OwnershipMemory buffer, int offset, int count)
    {
        var part = offset == 0 ? buffer : buffer.Slice(offset, count);
        CancelableFuture<BufferResult<OwnershipMemory>> send;
        try
        {
            send = Ring.Send(c.Fd, part, count);
        }
        catch
        {
            if (part != buffer)
                part.Dispose();
            throw;
        }
        c.PendingSend = send;
        c.SendSlice = part != buffer ? part : null;
        c.BeginWait(ConnectionWait.Send, DeadlineAfter(Settings.SendTimeout));
        return send;
    }

    /// <summary>
    /// Ends the send begun by <see cref="BeginSend"/>: clears its deadline and releases its slice.
    /// Returns what the caller throws: <paramref name="error"/> (what awaiting the send threw), a
    /// <see cref="ConnectionTimeoutException"/> if the watchdog cancelled it, an
    /// <see cref="IOException"/> if nothing was sent; null when <paramref name="sent"/> bytes went out.
    /// </summary>
    protected static Exception? EndSend(Connection c, int sent, Exception? error = null)
    {
        c.EndWait();
        c.PendingSend = default;
        if (c.SendSlice is { } slice)
        {
            c.SendSlice = null;
            slice.Dispose(); // a no-op when the façade already released it after a failed send
        }
        if (error is not null)
            return error is OperationCanceledException && c.TimedOut ? new ConnectionTimeoutException(ConnectionWait.Send) : error;
        return sent <= 0 ? new IOException("The peer accepted no data.") : null;
    }

    /// <summary>Sends <paramref name="length"/> bytes of <paramref name="buffer"/>, however many sends it takes.</summary>
    /// <exception cref="ConnectionTimeoutException">A send made no progress within the send timeout.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    protected async ValueTask SendAllAsync(Connection c, OwnershipMemory buffer, int length)
    {
        var sent = 0;
        while (sent < length)
        {
            var send = BeginSend(c, buffer, sent, length - sent);
            int n;
            try
            {
                (n, _) = await send;
            }
            catch (Exception e)
            {
                throw EndSend(c, 0, e)!;
            }
            if (EndSend(c, n) is { } failed)
                throw failed;
            sent += n;
        }
    }

    /// <summary>Gives a lease back to the ring and lets the next connection waiting for a buffer try again.</summary>
    protected void ReturnLease(ProvidedBuffer lease)
    {
        if (lease.IsEndOfStream)
            return;
        // After a failed or cancelled send the façade has already given the buffer back (and
        // the kernel may have picked it again, for another lease): dispose only what is still ours.
        if (lease.Memory!.State == OwnershipState.User)
        {
            try
            {
                lease.Dispose();
            }
            catch (ObjectDisposedException)
            {
            }
        }
        if (_bufferWaiters.Count > 0)
            WakeBufferWaiters(1);
    }

    private Task<bool> WaitForBufferAsync(Connection c, long deadline)
    {
        var wait = new TaskCompletionSource<bool>(); // completed on the loop thread; continues inline there
        c.BufferWait = wait;
        c.Waiting = ConnectionWait.Buffer; // (not BeginWait: TimedOut stays as the receive left it)
        c.Deadline = deadline;
        _bufferWaiters.Enqueue(c);
        return wait.Task;
    }

    private void WakeBufferWaiters(int count)
    {
        // A woken connection that meets ENOBUFS again queues itself at the back: wake at most
        // the number that were waiting, so this loop ends.
        var budget = Math.Min(count, _bufferWaiters.Count);
        while (budget-- > 0 && _bufferWaiters.TryDequeue(out var c))
        {
            if (c.Waiting != ConnectionWait.Buffer)
                continue; // expired meanwhile
            c.EndWait();
            var wait = c.BufferWait!;
            c.BufferWait = null;
            wait.SetResult(true);
        }
    }

    private void Log(string line)
    {
        try
        {
            log.WriteLine(line);
            log.Flush();
        }
        catch (IOException)
        {
            // stderr gone: nothing to be done about it here
        }
    }
}
