using System.Net;

namespace Uring.Tests;

// Blocking waits on purpose: while the process is out of descriptors, an await could resume on a
// thread-pool thread the runtime cannot start (it opens a pipe for every new thread).
#pragma warning disable xUnit1031

/// <summary>
/// <see cref="ResilientAccept"/> against a real listener on loopback and real clients, with the
/// process out of file descriptors: the soft RLIMIT_NOFILE is lowered to just above the highest
/// open descriptor and every free number below it is filled, so the kernel ends each accept with
/// EMFILE. The limit is restored before each test ends; the tests run alone (the serial
/// collection), since nothing else in the process can open a file meanwhile.
/// </summary>
/// <remarks>
/// While descriptors are out nothing here may need one: no thread is started (the runtime opens a
/// pipe for each), no assembly is loaded. The consumer's <c>MoveNextAsync</c> is waited on with a
/// blocking wait, and clients connect through the ring with sockets made beforehand.
/// </remarks>
[Collection(SerialCollection.Name)]
public sealed class ResilientAcceptTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    // Waits while out of descriptors stay short: the test host's own threads (timers, the
    // thread pool) cannot start then, and the host dies if one has to for long.
    private static readonly TimeSpan OutLimit = TimeSpan.FromSeconds(1.5);

    private readonly Ring _ring = new();
    private readonly int _listener = NetSocket.OpenTcpListener(new IPEndPoint(IPAddress.Loopback, 0), 64);
    private readonly IPEndPoint _endPoint;
    private readonly List<int> _clients = new();
    private readonly object _gate = new();
    private readonly List<(string Event, AcceptPauseEventArgs Args)> _events = new();

    public ResilientAcceptTests()
    {
        _endPoint = NetSocket.GetLocalEndPoint(_listener);
        // Warm up what the tests use while out of descriptors (code paths, lazily loaded types).
        using var warm = new NoDescriptorsLeft(exhaust: false);
        WaitUntil(() => true, TimeSpan.Zero);
        Assert.False(TryConnect(_listener)); // the failure path too
        Assert.True(_ring.Timeout(TimeSpan.FromMilliseconds(1)).Wait(Limit));
    }

    public void Dispose()
    {
        _ring.Dispose();
        foreach (var fd in _clients)
            NetSocket.Close(fd);
        NetSocket.Close(_listener);
    }

    [Fact]
    public void Out_of_descriptors_the_accept_pauses_reports_it_once_and_accepts_the_waiting_client_once_one_is_free()
    {
        var accept = Observe(_ring.AcceptMultishotResilient(_listener, new AcceptBackoff { Initial = TimeSpan.FromMilliseconds(10), Maximum = TimeSpan.FromMilliseconds(40) }));
        var client = NewClient();
        var enumerator = accept.GetAsyncEnumerator();
        try
        {
            // Out of descriptors nothing is asserted (a failing assertion could not even be
            // reported): what happens is noted, and checked once descriptors are back.
            Task<bool> next;
            bool connected, retried, endedWhileOut, pausedWhileOut, acceptedInTime;
            List<AcceptPauseEventArgs> pausedEvents, retries, resumedWhileOut;
            using (var exhaustion = new NoDescriptorsLeft(spare: 1))
            {
                next = enumerator.MoveNextAsync().AsTask();
                connected = TryConnect(client);
                retried = WaitUntil(() => Count("RetryFailed") >= 4, OutLimit);
                endedWhileOut = next.IsCompleted;
                pausedWhileOut = accept.IsPaused;
                pausedEvents = Events("Paused");
                retries = Events("RetryFailed");
                resumedWhileOut = Events("Resumed");

                exhaustion.Free(1);
                acceptedInTime = WaitUntil(() => next.IsCompleted, OutLimit, next);
            }
            Assert.True(connected);

            // (a) It pauses instead of ending, and keeps trying: several attempts fail in turn.
            Assert.True(retried, $"events: {Describe()}");
            Assert.False(endedWhileOut, "the enumeration ended while out of descriptors");
            Assert.True(pausedWhileOut);

            // (b) Reported once, with the cause; the retries report themselves as such.
            var paused = Assert.Single(pausedEvents);
            Assert.Empty(resumedWhileOut);
            Assert.Equal("EMFILE", paused.Error.ErrnoName);
            Assert.Equal(1, paused.FailedAttempts);
            Assert.Equal(TimeSpan.FromMilliseconds(10), paused.Backoff);
            Assert.Equal(Enumerable.Range(2, retries.Count), retries.Select(r => r.FailedAttempts));
            Assert.Equal(TimeSpan.FromMilliseconds(40), retries[^1].Backoff); // 10, 20, 40, 40…
            Assert.All(retries, r => Assert.Equal("EMFILE", r.Error.ErrnoName));
            var pausedAtLeast = retries[^1].PausedFor;

            // (c) A free descriptor: the next attempt accepts the client that waited in the backlog.
            Assert.True(acceptedInTime, "no connection accepted after a descriptor was freed");
            Assert.True(next.Result);
            var accepted = enumerator.Current;
            try
            {
                Assert.Equal(NetSocket.GetLocalEndPoint(client), NetSocket.GetRemoteEndPoint(accepted));
            }
            finally
            {
                NetSocket.Close(accepted);
            }

            Assert.False(accept.IsPaused);
            Assert.Equal(1, Count("Paused"));
            var resumed = Single("Resumed");
            Assert.Equal(1 + Count("RetryFailed"), resumed.FailedAttempts);
            Assert.True(resumed.PausedFor >= pausedAtLeast, $"{resumed.PausedFor} < {pausedAtLeast}");
            Assert.Equal(TimeSpan.Zero, resumed.Backoff);

            // Accepting goes on normally afterwards.
            var second = NewClient();
            Connect(second);
            var more = enumerator.MoveNextAsync().AsTask();
            Assert.True(more.Wait(Limit) && more.Result);
            Assert.Equal(NetSocket.GetLocalEndPoint(second), NetSocket.GetRemoteEndPoint(enumerator.Current));
            NetSocket.Close(enumerator.Current);
        }
        finally
        {
            Assert.True(enumerator.DisposeAsync().AsTask().Wait(Limit));
        }
        Assert.Equal(1, Count("Paused"));
        Assert.Equal(1, Count("Resumed"));
    }

    [Fact]
    public void RetryNow_cuts_a_long_back_off_short()
    {
        var accept = Observe(_ring.AcceptMultishotResilient(_listener, new AcceptBackoff { Initial = TimeSpan.FromSeconds(30), Maximum = TimeSpan.FromSeconds(30) }));
        var client = NewClient();
        var enumerator = accept.GetAsyncEnumerator();
        try
        {
            Task<bool> next;
            bool connected, paused, acceptedDuringBackoff, pausedAfterFree, acceptedAfterRetry;
            using (var exhaustion = new NoDescriptorsLeft(spare: 1))
            {
                next = enumerator.MoveNextAsync().AsTask();
                connected = TryConnect(client);
                paused = WaitUntil(() => Count("Paused") == 1, OutLimit);
                exhaustion.Free(1);
                acceptedDuringBackoff = WaitUntil(() => next.IsCompleted, TimeSpan.FromMilliseconds(300), next);
                pausedAfterFree = accept.IsPaused;

                accept.RetryNow();
                acceptedAfterRetry = WaitUntil(() => next.IsCompleted, OutLimit, next);
            }
            Assert.True(connected);
            Assert.True(paused);
            // The back-off holds: a descriptor is free, yet nothing is tried before it ends.
            Assert.False(acceptedDuringBackoff);
            Assert.True(pausedAfterFree);
            Assert.True(acceptedAfterRetry, "RetryNow did not end the back-off");
            Assert.True(next.Result);
            Assert.Equal(NetSocket.GetLocalEndPoint(client), NetSocket.GetRemoteEndPoint(enumerator.Current));
            NetSocket.Close(enumerator.Current);
            Assert.Equal(0, Count("RetryFailed"));
            Assert.Equal(1, Single("Resumed").FailedAttempts);
        }
        finally
        {
            Assert.True(enumerator.DisposeAsync().AsTask().Wait(Limit));
        }
    }

    [Fact]
    public void RetryNow_without_a_pause_does_nothing()
    {
        var accept = Observe(_ring.AcceptMultishotResilient(_listener));
        accept.RetryNow(); // before any enumeration
        var enumerator = accept.GetAsyncEnumerator();
        try
        {
            var next = enumerator.MoveNextAsync().AsTask();
            accept.RetryNow();
            Assert.False(next.Wait(TimeSpan.FromMilliseconds(100)));
            var client = NewClient();
            Connect(client);
            Assert.True(next.Wait(Limit) && next.Result);
            NetSocket.Close(enumerator.Current);
            Assert.Empty(Events("Paused"));
        }
        finally
        {
            Assert.True(enumerator.DisposeAsync().AsTask().Wait(Limit));
        }
    }

    [Fact]
    public void Cancellation_during_a_back_off_ends_the_enumeration_and_the_timeout()
    {
        var accept = Observe(_ring.AcceptMultishotResilient(_listener, new AcceptBackoff { Initial = TimeSpan.FromSeconds(30), Maximum = TimeSpan.FromSeconds(30) }));
        using var cts = new CancellationTokenSource();
        var client = NewClient();
        var enumerator = accept.GetAsyncEnumerator(cts.Token);
        try
        {
            Task<bool> next;
            bool connected, paused, ended, timeoutGone;
            int inFlightWhilePaused;
            using (new NoDescriptorsLeft(spare: 1))
            {
                next = enumerator.MoveNextAsync().AsTask();
                connected = TryConnect(client);
                paused = WaitUntil(() => Count("Paused") == 1, OutLimit);
                inFlightWhilePaused = _ring.InFlight;

                cts.Cancel();
                ended = WaitUntil(() => next.IsCompleted, OutLimit, next);
                timeoutGone = WaitUntil(() => _ring.InFlight == 0, OutLimit);
            }
            Assert.True(connected);
            Assert.True(paused);
            Assert.Equal(1, inFlightWhilePaused); // the back-off's timeout, nothing else
            Assert.True(ended, "cancellation did not end the enumeration");
            var error = Assert.Throws<AggregateException>(() => next.Wait());
            Assert.IsAssignableFrom<OperationCanceledException>(error.InnerException);
            Assert.True(timeoutGone, "the back-off's timeout is still in the ring");
        }
        finally
        {
            Assert.True(enumerator.DisposeAsync().AsTask().Wait(Limit));
        }
        Assert.Empty(Events("Resumed"));

        // The enumeration has ended: a new one may start, and works.
        var again = accept.GetAsyncEnumerator();
        try
        {
            var next = again.MoveNextAsync().AsTask();
            Assert.True(next.Wait(Limit) && next.Result); // the client that waited in the backlog
            NetSocket.Close(again.Current);
        }
        finally
        {
            Assert.True(again.DisposeAsync().AsTask().Wait(Limit));
        }
    }

    [Fact]
    public void A_listener_shut_down_while_paused_ends_the_enumeration_normally()
    {
        var accept = Observe(_ring.AcceptMultishotResilient(_listener, new AcceptBackoff { Initial = TimeSpan.FromMilliseconds(10), Maximum = TimeSpan.FromMilliseconds(20) }));
        var enumerator = accept.GetAsyncEnumerator();
        try
        {
            Task<bool> next;
            bool paused, ended;
            int shutdown;
            using (var exhaustion = new NoDescriptorsLeft(spare: 1))
            {
                next = enumerator.MoveNextAsync().AsTask();
                paused = WaitUntil(() => Count("Paused") == 1, OutLimit);
                shutdown = Native.shutdown(_listener, 2 /* SHUT_RDWR */);
                exhaustion.Free(1);
                ended = WaitUntil(() => next.IsCompleted, OutLimit, next);
            }
            Assert.True(paused);
            Assert.Equal(0, shutdown);
            Assert.True(ended, "the enumeration did not end");
            Assert.False(next.Result);
        }
        finally
        {
            Assert.True(enumerator.DisposeAsync().AsTask().Wait(Limit));
        }
    }

    [Fact]
    public void A_second_enumeration_while_one_runs_is_refused_and_bad_back_offs_are_rejected()
    {
        var accept = _ring.AcceptMultishotResilient(_listener);
        Assert.Equal(TimeSpan.FromMilliseconds(10), accept.InitialBackoff);
        Assert.Equal(TimeSpan.FromMilliseconds(250), accept.MaximumBackoff);
        var first = accept.GetAsyncEnumerator();
        try
        {
            _ = first.MoveNextAsync();
            Assert.Throws<InvalidOperationException>(() => accept.GetAsyncEnumerator());
        }
        finally
        {
            Assert.True(first.DisposeAsync().AsTask().Wait(Limit));
        }
        Assert.True(accept.GetAsyncEnumerator().DisposeAsync().AsTask().Wait(Limit));

        Assert.Throws<ArgumentOutOfRangeException>(() => _ring.AcceptMultishotResilient(_listener, new AcceptBackoff { Initial = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ring.AcceptMultishotResilient(_listener, new AcceptBackoff { Initial = TimeSpan.FromSeconds(1), Maximum = TimeSpan.FromMilliseconds(10) }));
        var notListening = NewClient();
        Assert.Throws<ArgumentException>(() => _ring.AcceptMultishotResilient(notListening));
    }

    // ------------------------------------------------------------------ helpers

    private ResilientAccept Observe(ResilientAccept accept)
    {
        accept.Paused += (_, e) => Record("Paused", e);
        accept.RetryFailed += (_, e) => Record("RetryFailed", e);
        accept.Resumed += (_, e) => Record("Resumed", e);
        return accept;
    }

    private void Record(string name, AcceptPauseEventArgs e)
    {
        lock (_gate)
        {
            _events.Add((name, e));
            Monitor.PulseAll(_gate);
        }
    }

    private List<AcceptPauseEventArgs> Events(string name)
    {
        lock (_gate)
            return _events.Where(e => e.Event == name).Select(e => e.Args).ToList();
    }

    private int Count(string name) => Events(name).Count;

    private AcceptPauseEventArgs Single(string name) => Assert.Single(Events(name));

    private string Describe()
    {
        lock (_gate)
            return string.Join(", ", _events.Select(e => $"{e.Event}({e.Args.Error.ErrnoName}, {e.Args.FailedAttempts})"));
    }

    /// <summary>A client socket, made while descriptors are still there.</summary>
    private int NewClient()
    {
        var fd = NetSocket.OpenTcp();
        _clients.Add(fd);
        return fd;
    }

    /// <summary>Connects through the ring (needs no descriptor); the connection waits in the listen backlog.</summary>
    private void Connect(int client) => Assert.True(TryConnect(client));

    /// <summary>As <see cref="Connect"/>, without throwing (for use while out of descriptors).</summary>
    private bool TryConnect(int client)
    {
        try
        {
            var connect = _ring.Connect(client, _endPoint);
            return connect.Wait(OutLimit) && connect.Result == 0;
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <summary>
    /// Waits for <paramref name="condition"/>, checked when an event is recorded or the
    /// enumeration's step completes (and every 50 ms): no busy loop, whose hot code would have the
    /// runtime start a thread to recompile it — impossible while out of descriptors.
    /// </summary>
    private bool WaitUntil(Func<bool> condition, TimeSpan limit, Task? step = null)
    {
        step?.ContinueWith(static (_, gate) => { lock (gate!) Monitor.PulseAll(gate); }, _gate, TaskContinuationOptions.ExecuteSynchronously);
        var end = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        lock (_gate)
        {
            while (!condition())
            {
                var left = end - Environment.TickCount64;
                if (left <= 0)
                    return false;
                Monitor.Wait(_gate, (int)Math.Min(left, 50));
            }
        }
        return true;
    }
}
