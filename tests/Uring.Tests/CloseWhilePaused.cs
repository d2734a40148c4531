using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Uring.Tests;

/// <summary>
/// The scenario of the servers' out-of-descriptors tests (<c>uring serve</c>'s ring servers, the
/// Kestrel transport): with accepting paused for want of descriptors and a back-off far longer
/// than the test, a client waits in the listen backlog; descriptors are freed, yet it must not be
/// accepted until a connection of the server closes, and then at once.
/// </summary>
/// <remarks>
/// While out of descriptors nothing here opens one or asserts anything: the clients' sockets are
/// made beforehand and used with blocking calls bounded by the stretch's budget (no continuation,
/// so no thread), and <see cref="Outcome.Check"/> looks at what happened once descriptors are back.
/// </remarks>
internal static class CloseWhilePaused
{
    /// <summary>What happened; <see cref="Check"/> asserts it.</summary>
    internal readonly record struct Outcome(string? Failure, bool Paused, bool AnsweredBeforeClose, bool Answered, TimeSpan TookAfterClose, string? Answer)
    {
        /// <summary>Asserts that the waiting client was let in by the close, and only then;
        /// <paramref name="server"/> describes what the server reported (for the messages).</summary>
        public void Check(string expected, Func<string> server)
        {
            Assert.Null(Failure);
            Assert.True(Paused, $"accepting did not pause while out of descriptors; {server()}");
            Assert.False(AnsweredBeforeClose, "the waiting client was accepted during the 30 s back-off, before any connection closed");
            Assert.True(Answered, $"the waiting client was not accepted within {TookAfterClose.TotalSeconds:F1} s of a connection closing " +
                $"(the back-off is 30 s); {server()}");
            Assert.StartsWith(expected, Answer);
        }
    }

    /// <summary>
    /// Fills the descriptor table, lets <paramref name="waiting"/> connect and send
    /// <paramref name="request"/>, waits for the pause (<paramref name="waitForPause"/>, given the
    /// time left), frees the descriptors, checks that nothing is answered for 300 ms, closes
    /// <paramref name="closing"/> (a connection the server has served) and waits for the answer.
    /// </summary>
    internal static Outcome Run(NoDescriptorsLeft descriptors, EndPoint endPoint, Socket closing, Socket waiting, byte[] request,
        Func<TimeSpan, bool> waitForPause)
    {
        bool paused = false, answeredBeforeClose = false, answered = false;
        string? failure = null, answer = null;
        var tookAfterClose = TimeSpan.Zero;
        descriptors.Exhaust();
        try
        {
            waiting.Connect(endPoint); // the kernel completes it; it waits in the backlog
            waiting.Send(request);
            paused = waitForPause(descriptors.TimeLeft);
            if (paused)
            {
                // Descriptors are free again, but the accept waits out its back-off...
                descriptors.Free(int.MaxValue);
                answeredBeforeClose = waiting.Poll(Microseconds(Min(TimeSpan.FromMilliseconds(300), descriptors.TimeLeft)), SelectMode.SelectRead);
                // ... until a connection of the server closes.
                var watch = Stopwatch.StartNew();
                closing.Close();
                answered = waiting.Poll(Microseconds(descriptors.TimeLeft), SelectMode.SelectRead);
                tookAfterClose = watch.Elapsed;
                if (answered)
                    answer = Receive(waiting);
            }
        }
        catch (SocketException e)
        {
            failure = $"{e.SocketErrorCode}: {e.Message}";
        }
        finally
        {
            descriptors.Free(int.MaxValue);
        }
        return new Outcome(failure, paused, answeredBeforeClose, answered, tookAfterClose, answer);
    }

    internal static Socket NewClient() => new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

    /// <summary>One request, answered within 10 s: the answer's first bytes.</summary>
    internal static string Ask(Socket client, byte[] request)
    {
        client.Send(request);
        Assert.True(client.Poll(Microseconds(TimeSpan.FromSeconds(10)), SelectMode.SelectRead), "no answer within 10 s");
        return Receive(client);
    }

    private static string Receive(Socket client)
    {
        var buffer = new byte[4096];
        var n = client.Receive(buffer);
        return Encoding.ASCII.GetString(buffer, 0, n);
    }

    private static int Microseconds(TimeSpan t) => (int)Math.Max(1, Math.Min(int.MaxValue, t.TotalMicroseconds));

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
