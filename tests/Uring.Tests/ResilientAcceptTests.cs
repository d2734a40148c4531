using System.Net;
using Xunit.Sdk;

namespace Uring.Tests;

/// <summary>
/// <see cref="ResilientAccept"/> against a real listener on loopback and real clients, with the
/// process out of file descriptors: the soft RLIMIT_NOFILE is lowered to just above the highest
/// open descriptor and every free number below it is filled, so the kernel ends each accept with
/// EMFILE. The limit is restored before each test ends; the tests run alone (the serial
/// collection), since nothing else in the process can open a file meanwhile.
/// </summary>
/// <remarks>
/// <para>A broken accept must fail these tests, not end the test host. So:</para>
/// <para>- The ring is a <see cref="RingThreading.CallerThread"/> ring created by the test: its
/// completions, and so the accept's events, are processed on the test's own thread while it waits
/// (<see cref="Pump"/>). An exception escaping the accept's completion handling — on a loop thread
/// it would end the process — is thrown there and fails the test; no other thread takes part.</para>
/// <para>- While out of descriptors nothing needs one, and nothing is asserted: what happens is
/// noted, the block is left, and the notes are checked once the limit is restored. Every wait
/// there is bounded by the stretch's budget (<see cref="NoDescriptorsLeft.TimeLeft"/>): a stretch
/// that lasts too long would have the runtime abort the process when it must start a thread.</para>
/// <para>- Every wait is bounded, and cleaning up (the enumeration, the ring) never hides the
/// failure that made the test end: what goes wrong there is reported when the class is disposed.</para>
/// </remarks>
[Collection(SerialCollection.Name)]
public sealed class ResilientAcceptTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private static readonly AcceptBackoff Long = new() { Initial = TimeSpan.FromSeconds(30), Maximum = TimeSpan.FromSeconds(30) };

    private readonly int _listener = NetSocket.OpenTcpListener(new IPEndPoint(IPAddress.Loopback, 0), 64);
    private readonly IPEndPoint _endPoint;
    private readonly List<int> _clients = new();
    private readonly List<(string Event, AcceptPauseEventArgs Args)> _events = new();
    private readonly List<string> _cleanupFailures = new();
    private Ring? _ring;
    private bool _completionThrew; // the ring's state is suspect: clean-up waits are kept short

    public ResilientAcceptTests() => _endPoint = NetSocket.GetLocalEndPoint(_listener);

    public void Dispose()
    {
        foreach (var fd in _clients)
            NetSocket.Close(fd);
        NetSocket.Close(_listener);
        if (_cleanupFailures.Count > 0)
            throw new XunitException("cleaning up failed: " + string.Join("; ", _cleanupFailures));
    }

    private Ring Ring => _ring ?? throw new InvalidOperationException("call OwnRing first");

    [Fact]
    public void Out_of_descriptors_the_accept_pauses_reports_it_once_and_accepts_the_waiting_client_once_one_is_free()
    {
        using var owned = OwnRing();
        var accept = Observe(Ring.AcceptMultishotResilient(_listener, new AcceptBackoff { Initial = TimeSpan.FromMilliseconds(10), Maximum = TimeSpan.FromMilliseconds(40) }));
        var client = NewClient();
        using var enumeration = new Enumeration(this, accept.GetAsyncEnumerator());

        // Out of descriptors nothing is asserted: what happens is noted, and checked once they are back.
        Step next;
        bool connected, retried, endedWhileOut, pausedWhileOut, acceptedInTime;
        List<AcceptPauseEventArgs> pausedEvents, retries, resumedWhileOut;
        using (var exhaustion = new NoDescriptorsLeft(spare: 1))
        {
            next = enumeration.MoveNext();
            connected = TryConnect(client, exhaustion.TimeLeft);
            retried = connected && Pump(() => Count("RetryFailed") >= 4, exhaustion.TimeLeft);
            endedWhileOut = next.IsCompleted;
            pausedWhileOut = accept.IsPaused;
            pausedEvents = Events("Paused");
            retries = Events("RetryFailed");
            resumedWhileOut = Events("Resumed");

            exhaustion.Free(1);
            acceptedInTime = retried && Pump(() => next.IsCompleted, exhaustion.TimeLeft);
        }
        Assert.True(connected, "the client could not connect (through the ring) while out of descriptors");

        // (a) It pauses instead of ending, and keeps trying: several attempts fail in turn.
        Assert.False(endedWhileOut, $"the enumeration ended while out of descriptors: {next}");
        Assert.True(retried, $"fewer than 4 failed retries while out of descriptors; events: {Describe()}");
        Assert.True(pausedWhileOut, "IsPaused was false while out of descriptors");

        // (b) Reported once, with the cause; the retries report themselves as such.
        Assert.True(pausedEvents.Count == 1, $"expected one Paused event; events: {Describe()}");
        var paused = pausedEvents[0];
        Assert.Empty(resumedWhileOut);
        Assert.Equal("EMFILE", paused.Error.ErrnoName);
        Assert.Equal(1, paused.FailedAttempts);
        Assert.Equal(TimeSpan.FromMilliseconds(10), paused.Backoff);
        Assert.Equal(Enumerable.Range(2, retries.Count), retries.Select(r => r.FailedAttempts));
        Assert.Equal(TimeSpan.FromMilliseconds(40), retries[^1].Backoff); // 10, 20, 40, 40…
        Assert.All(retries, r => Assert.Equal("EMFILE", r.Error.ErrnoName));
        var pausedAtLeast = retries[^1].PausedFor;

        // (c) A free descriptor: the next attempt accepts the client that waited in the backlog.
        Assert.True(acceptedInTime, $"no connection accepted after a descriptor was freed; events: {Describe()}");
        var accepted = enumeration.Accepted(next);
        Assert.Equal(NetSocket.GetLocalEndPoint(client), NetSocket.GetRemoteEndPoint(accepted));

        Assert.False(accept.IsPaused);
        Assert.Equal(1, Count("Paused"));
        var resumed = Single("Resumed");
        Assert.Equal(1 + Count("RetryFailed"), resumed.FailedAttempts);
        Assert.True(resumed.PausedFor >= pausedAtLeast, $"{resumed.PausedFor} < {pausedAtLeast}");
        Assert.Equal(TimeSpan.Zero, resumed.Backoff);

        // Accepting goes on normally afterwards.
        var second = NewClient();
        Connect(second);
        var more = enumeration.MoveNext();
        Assert.True(Pump(() => more.IsCompleted, Limit), "the connection after the pause was not accepted");
        Assert.Equal(NetSocket.GetLocalEndPoint(second), NetSocket.GetRemoteEndPoint(enumeration.Accepted(more)));

        enumeration.Dispose();
        Assert.Equal(1, Count("Paused"));
        Assert.Equal(1, Count("Resumed"));
    }

    [Fact]
    public void RetryNow_cuts_a_long_back_off_short()
    {
        using var owned = OwnRing();
        var accept = Observe(Ring.AcceptMultishotResilient(_listener, Long));
        var client = NewClient();
        using var enumeration = new Enumeration(this, accept.GetAsyncEnumerator());

        Step next;
        bool connected, paused, acceptedDuringBackoff = false, pausedAfterFree = false, acceptedAfterRetry = false;
        using (var exhaustion = new NoDescriptorsLeft(spare: 1))
        {
            next = enumeration.MoveNext();
            connected = TryConnect(client, exhaustion.TimeLeft);
            paused = connected && Pump(() => Count("Paused") == 1, exhaustion.TimeLeft);
            if (paused)
            {
                exhaustion.Free(1);
                acceptedDuringBackoff = Pump(() => next.IsCompleted, Min(TimeSpan.FromMilliseconds(300), exhaustion.TimeLeft));
                pausedAfterFree = accept.IsPaused;

                accept.RetryNow();
                acceptedAfterRetry = Pump(() => next.IsCompleted, exhaustion.TimeLeft);
            }
        }
        Assert.True(connected, "the client could not connect (through the ring) while out of descriptors");
        Assert.True(paused, $"no Paused event; events: {Describe()}; the enumeration: {next}");
        // The back-off holds: a descriptor is free, yet nothing is tried before it ends.
        Assert.False(acceptedDuringBackoff, "the connection was accepted during the 30 s back-off, before RetryNow");
        Assert.True(pausedAfterFree, "IsPaused was false during the back-off");
        Assert.True(acceptedAfterRetry, $"RetryNow did not end the back-off; events: {Describe()}");
        Assert.Equal(NetSocket.GetLocalEndPoint(client), NetSocket.GetRemoteEndPoint(enumeration.Accepted(next)));
        Assert.Equal(0, Count("RetryFailed"));
        Assert.Equal(1, Single("Resumed").FailedAttempts);
    }

    [Fact]
    public void RetryNow_while_an_attempt_is_in_the_kernel_is_kept_for_the_back_off_that_follows()
    {
        using var owned = OwnRing();
        var accept = Observe(Ring.AcceptMultishotResilient(_listener, Long));
        // The window: an attempt has failed and its failure is being handled, but no back-off is
        // pending yet (as when a connection closes while the attempt is in the kernel). A handler
        // of the first failed retry asks for another then; the accept must not forget it and sit
        // out the 30 s back-off.
        var asked = 0;
        accept.RetryFailed += (_, _) =>
        {
            if (Interlocked.Increment(ref asked) == 1)
                accept.RetryNow();
        };
        var client = NewClient();
        using var enumeration = new Enumeration(this, accept.GetAsyncEnumerator());

        Step next;
        bool connected, paused, retriedAgain = false, acceptedAfterFree = false;
        using (var exhaustion = new NoDescriptorsLeft(spare: 1))
        {
            next = enumeration.MoveNext();
            connected = TryConnect(client, exhaustion.TimeLeft);
            paused = connected && Pump(() => Count("Paused") == 1, exhaustion.TimeLeft);
            if (paused)
            {
                accept.RetryNow(); // ends the 30 s back-off: the attempt after it fails (RetryFailed 1)
                retriedAgain = Pump(() => Count("RetryFailed") >= 2, Min(TimeSpan.FromMilliseconds(1500), exhaustion.TimeLeft));
                exhaustion.Free(1);
                accept.RetryNow();
                acceptedAfterFree = Pump(() => next.IsCompleted, exhaustion.TimeLeft);
            }
        }
        Assert.True(connected, "the client could not connect (through the ring) while out of descriptors");
        Assert.True(paused, $"no Paused event; events: {Describe()}; the enumeration: {next}");
        Assert.True(retriedAgain, $"a RetryNow made while no back-off was pending was lost (the next attempt waits out the 30 s back-off); events: {Describe()}");
        Assert.Equal(2, Count("RetryFailed")); // then a back-off again: the request was kept once, not forever
        Assert.True(acceptedAfterFree, $"the client was not accepted once a descriptor was free; events: {Describe()}");
        Assert.Equal(NetSocket.GetLocalEndPoint(client), NetSocket.GetRemoteEndPoint(enumeration.Accepted(next)));
        Assert.Equal(3, Single("Resumed").FailedAttempts);
    }

    [Fact]
    public void RetryNow_without_a_pause_does_nothing()
    {
        using var owned = OwnRing();
        var accept = Observe(Ring.AcceptMultishotResilient(_listener));
        accept.RetryNow(); // before any enumeration
        using var enumeration = new Enumeration(this, accept.GetAsyncEnumerator());
        var next = enumeration.MoveNext();
        accept.RetryNow();
        Assert.False(Pump(() => next.IsCompleted, TimeSpan.FromMilliseconds(100)), $"the enumeration moved without a client: {next}");
        var client = NewClient();
        Connect(client);
        Assert.True(Pump(() => next.IsCompleted, Limit), "the client was not accepted");
        enumeration.Accepted(next);
        Assert.Empty(Events("Paused"));
    }

    [Fact]
    public void Cancellation_during_a_back_off_ends_the_enumeration_and_the_timeout()
    {
        using var owned = OwnRing();
        var accept = Observe(Ring.AcceptMultishotResilient(_listener, Long));
        using var cts = new CancellationTokenSource();
        var client = NewClient();
        var enumeration = new Enumeration(this, accept.GetAsyncEnumerator(cts.Token));
        using (enumeration)
        {
            Step next;
            bool connected, paused, ended = false, timeoutGone = false;
            var inFlightWhilePaused = -1;
            using (var exhaustion = new NoDescriptorsLeft(spare: 1))
            {
                next = enumeration.MoveNext();
                connected = TryConnect(client, exhaustion.TimeLeft);
                paused = connected && Pump(() => Count("Paused") == 1, exhaustion.TimeLeft);
                if (paused)
                {
                    inFlightWhilePaused = Ring.InFlight;
                    cts.Cancel();
                    ended = Pump(() => next.IsCompleted, exhaustion.TimeLeft);
                    timeoutGone = Pump(() => Ring.InFlight == 0, exhaustion.TimeLeft);
                }
            }
            Assert.True(connected, "the client could not connect (through the ring) while out of descriptors");
            Assert.True(paused, $"no Paused event; events: {Describe()}; the enumeration: {next}");
            Assert.Equal(1, inFlightWhilePaused); // the back-off's timeout, nothing else
            Assert.True(ended, "cancellation did not end the enumeration");
            Assert.IsAssignableFrom<OperationCanceledException>(Assert.ThrowsAny<Exception>(() => next.Result));
            Assert.True(timeoutGone, "the back-off's timeout is still in the ring");
        }
        Assert.True(enumeration.Stopped, "the enumeration did not stop");
        Assert.Empty(Events("Resumed"));

        // The enumeration has ended: a new one may start, and works.
        using var again = new Enumeration(this, accept.GetAsyncEnumerator());
        var first = again.MoveNext();
        Assert.True(Pump(() => first.IsCompleted, Limit), "the client that waited in the backlog was not accepted");
        again.Accepted(first);
    }

    [Fact]
    public void A_listener_shut_down_while_paused_ends_the_enumeration_normally()
    {
        using var owned = OwnRing();
        var accept = Observe(Ring.AcceptMultishotResilient(_listener, new AcceptBackoff { Initial = TimeSpan.FromMilliseconds(10), Maximum = TimeSpan.FromMilliseconds(20) }));
        using var enumeration = new Enumeration(this, accept.GetAsyncEnumerator());
        Step next;
        bool paused, ended = false;
        var shutdown = -1;
        using (var exhaustion = new NoDescriptorsLeft(spare: 1))
        {
            next = enumeration.MoveNext();
            // No client needed: the kernel takes the new fd's number before it waits for a connection.
            paused = Pump(() => Count("Paused") == 1, exhaustion.TimeLeft);
            if (paused)
            {
                shutdown = Native.shutdown(_listener, 2 /* SHUT_RDWR */);
                exhaustion.Free(1);
                ended = Pump(() => next.IsCompleted, exhaustion.TimeLeft);
            }
        }
        Assert.True(paused, $"no Paused event; events: {Describe()}; the enumeration: {next}");
        Assert.Equal(0, shutdown);
        Assert.True(ended, $"the enumeration did not end; events: {Describe()}");
        Assert.False(next.Result);
    }

    [Fact]
    public void A_handler_that_throws_ends_the_enumeration_with_its_exception()
    {
        using var owned = OwnRing();
        var accept = Observe(Ring.AcceptMultishotResilient(_listener, Long));
        var thrown = new InvalidOperationException("the Paused handler failed");
        accept.Paused += (_, _) => throw thrown;
        var client = NewClient();
        using var enumeration = new Enumeration(this, accept.GetAsyncEnumerator());
        Step next;
        bool connected, ended = false;
        using (var exhaustion = new NoDescriptorsLeft(spare: 1))
        {
            next = enumeration.MoveNext();
            connected = TryConnect(client, exhaustion.TimeLeft);
            ended = connected && Pump(() => next.IsCompleted, exhaustion.TimeLeft);
        }
        Assert.True(connected, "the client could not connect (through the ring) while out of descriptors");
        Assert.True(ended, $"the enumeration did not end; events: {Describe()}");
        Assert.Same(thrown, Assert.ThrowsAny<Exception>(() => next.Result));
        Assert.Equal(1, Count("Paused"));
        Assert.Equal(0, Ring.InFlight); // no back-off left behind
    }

    [Fact]
    public void A_second_enumeration_while_one_runs_is_refused_and_bad_back_offs_are_rejected()
    {
        using var owned = OwnRing();
        var accept = Ring.AcceptMultishotResilient(_listener);
        Assert.Equal(TimeSpan.FromMilliseconds(10), accept.InitialBackoff);
        Assert.Equal(TimeSpan.FromMilliseconds(250), accept.MaximumBackoff);
        using (var first = new Enumeration(this, accept.GetAsyncEnumerator()))
        {
            _ = first.MoveNext();
            Assert.Throws<InvalidOperationException>(() => accept.GetAsyncEnumerator());
        }
        using (new Enumeration(this, accept.GetAsyncEnumerator()))
        {
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => Ring.AcceptMultishotResilient(_listener, new AcceptBackoff { Initial = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ring.AcceptMultishotResilient(_listener, new AcceptBackoff { Initial = TimeSpan.FromSeconds(1), Maximum = TimeSpan.FromMilliseconds(10) }));
        var notListening = NewClient();
        Assert.Throws<ArgumentException>(() => Ring.AcceptMultishotResilient(notListening));
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>
    /// The test's ring: a <see cref="RingThreading.CallerThread"/> ring owned by the calling thread,
    /// disposed (on that thread) by the returned object. Also warms up what the tests use while out
    /// of descriptors (code paths, lazily loaded types).
    /// </summary>
    private IDisposable OwnRing()
    {
        _ring = new Ring(new RingOptions { Threading = RingThreading.CallerThread });
        using (var warm = new NoDescriptorsLeft(exhaust: false))
        {
            Pump(() => true, warm.TimeLeft);
            Assert.False(TryConnect(_listener, Limit)); // the failure path too
            var timeout = _ring.Timeout(TimeSpan.FromMilliseconds(1));
            Assert.True(Pump(() => timeout.IsCompleted, Limit));
            _ = new Step(new ValueTask<bool>(true)).ToString();
        }
        return new RingOwner(this, _ring);
    }

    private ResilientAccept Observe(ResilientAccept accept)
    {
        accept.Paused += (_, e) => Record("Paused", e);
        accept.RetryFailed += (_, e) => Record("RetryFailed", e);
        accept.Resumed += (_, e) => Record("Resumed", e);
        return accept;
    }

    private void Record(string name, AcceptPauseEventArgs e)
    {
        lock (_events)
            _events.Add((name, e));
    }

    private List<AcceptPauseEventArgs> Events(string name)
    {
        lock (_events)
            return _events.Where(e => e.Event == name).Select(e => e.Args).ToList();
    }

    private int Count(string name)
    {
        lock (_events)
            return _events.Count(e => e.Event == name);
    }

    private AcceptPauseEventArgs Single(string name) => Assert.Single(Events(name));

    private string Describe()
    {
        lock (_events)
        {
            if (_events.Count == 0)
                return "none";
            var shown = string.Join(", ", _events.Take(8).Select(e => $"{e.Event}({e.Args.Error.ErrnoName}, {e.Args.FailedAttempts})"));
            return _events.Count <= 8 ? shown : $"{shown} … ({_events.Count} in all)";
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>A client socket, made while descriptors are still there.</summary>
    private int NewClient()
    {
        var fd = NetSocket.OpenTcp();
        _clients.Add(fd);
        return fd;
    }

    /// <summary>Connects through the ring (needs no descriptor); the connection waits in the listen backlog.</summary>
    private void Connect(int client) => Assert.True(TryConnect(client, Limit), "the client could not connect");

    /// <summary>As <see cref="Connect"/>, false instead of a failed assertion (for use while out of descriptors).</summary>
    private bool TryConnect(int client, TimeSpan limit)
    {
        CancelableFuture<int> connect;
        try
        {
            connect = Ring.Connect(client, _endPoint);
        }
        catch (UringIOException)
        {
            return false;
        }
        if (!Pump(() => connect.IsCompleted, limit))
            return false;
        try
        {
            return connect.Result == 0;
        }
        catch (UringIOException)
        {
            return false;
        }
    }

    /// <summary>
    /// Turns the ring on this thread until <paramref name="condition"/> holds or
    /// <paramref name="limit"/> has passed: the accept's completions and events are processed here.
    /// Each turn sleeps in the kernel until a completion comes (at most 50 ms), so there is no busy
    /// loop (whose hot code would have the runtime start a thread to recompile it, impossible while
    /// out of descriptors).
    /// </summary>
    /// <exception cref="XunitException">Processing a completion threw: the exception escaped the
    /// accept's completion handling, which on a ring's loop thread would end the process.</exception>
    private bool Pump(Func<bool> condition, TimeSpan limit)
    {
        var end = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        while (!condition())
        {
            var left = end - Environment.TickCount64;
            if (left <= 0)
                return false;
            try
            {
                Ring.RunOnce(TimeSpan.FromMilliseconds(Math.Min(left, 50)));
            }
            catch (RingDisposedException)
            {
                return condition();
            }
            catch (Exception e)
            {
                _completionThrew = true;
                throw new XunitException($"processing the ring's completions threw {e.GetType().Name}: {e.Message} " +
                    "(on a loop thread this would end the process)", e);
            }
        }
        return true;
    }

    /// <summary>Runs a clean-up step; a failure is noted and reported when the class is disposed,
    /// so that it never replaces the failure that ended the test.</summary>
    private void CleanUp(string what, Action step)
    {
        try
        {
            step();
        }
        catch (Exception e)
        {
            _cleanupFailures.Add($"{what}: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Disposes the test's ring on its owner thread, without hiding the test's own failure.</summary>
    private sealed class RingOwner(ResilientAcceptTests test, Ring ring) : IDisposable
    {
        public void Dispose() => test.CleanUp("disposing the ring", ring.Dispose);
    }

    /// <summary>
    /// One <c>MoveNextAsync</c>, watched without a continuation (so without a thread): its result
    /// is taken once, when it has completed, and kept.
    /// </summary>
    private sealed class Step(ValueTask<bool> pending)
    {
        private Task<bool>? _settled;

        public bool IsCompleted => _settled is not null || pending.IsCompleted;

        /// <summary>True: an fd; false: the enumeration ended. Throws what ended it otherwise.</summary>
        public bool Result => Settled().GetAwaiter().GetResult();

        private Task<bool> Settled() =>
            _settled ??= pending.IsCompleted ? pending.AsTask() : throw new InvalidOperationException("the step has not completed");

        /// <summary>What the step came to, for failure messages.</summary>
        public override string ToString()
        {
            if (!IsCompleted)
                return "still waiting";
            var settled = Settled();
            return settled.IsCompletedSuccessfully
                ? (settled.Result ? "an fd" : "ended")
                : $"ended with {settled.Exception?.InnerException?.GetType().Name ?? "cancellation"}: {settled.Exception?.InnerException?.Message}";
        }
    }

    /// <summary>
    /// An accept enumeration driven by the test's ring: its steps are <see cref="Step"/>s, accepted
    /// fds are closed with the clients, and Dispose stops the enumeration within <see cref="Limit"/>.
    /// </summary>
    private sealed class Enumeration(ResilientAcceptTests test, IAsyncEnumerator<int> enumerator) : IDisposable
    {
        private bool _disposed;

        /// <summary>True once Dispose has seen the enumeration stop.</summary>
        public bool Stopped { get; private set; }

        public Step MoveNext() => new(enumerator.MoveNextAsync());

        /// <summary>The fd a completed step produced (closed with the clients).</summary>
        public int Accepted(Step step)
        {
            Assert.True(step.Result, "the enumeration ended instead of producing an fd");
            var fd = enumerator.Current;
            test._clients.Add(fd); // closed with the clients
            return fd;
        }

        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            test.CleanUp("stopping the enumeration", () =>
            {
                var stop = enumerator.DisposeAsync();
                var limit = test._completionThrew ? TimeSpan.FromSeconds(1) : Limit;
                if (!test.Pump(() => stop.IsCompleted, limit))
                    throw new TimeoutException($"DisposeAsync did not complete within {limit.TotalSeconds} s");
                stop.GetAwaiter().GetResult();
                Stopped = true;
            });
        }
    }
}
