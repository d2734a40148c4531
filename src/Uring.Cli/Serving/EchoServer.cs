namespace Uring.Cli.Serving;

/// <summary>
/// <c>uring serve echo</c>: every byte a client sends comes back, in order. Multishot accept;
/// per connection, one multishot receive from the provided buffer ring that stays armed, and a
/// send straight from each leased buffer, which goes back to the ring once it is sent.
/// </summary>
/// <remarks>
/// The receive is bounded (<see cref="MaxQueuedPerConnection"/>): a client that sends faster
/// than its echoes drain — one that sends without reading, at worst — holds at most that many
/// ring buffers besides the one being sent. Its receive then pauses, the rest of its data waits
/// in the socket (TCP flow control holds the client), and it cannot take the ring's buffers
/// from the others; it is closed when a send makes no progress for the send timeout.
/// </remarks>
internal sealed class EchoServer(ServerSettings settings, TextWriter log) : RingServer(settings, log, "echo ring")
{
    /// <summary>Leases a connection's receive may queue ahead of the echo being sent.</summary>
    internal const int MaxQueuedPerConnection = 4;

    protected override async Task ServeConnectionAsync(Connection connection)
    {
        NetSocket.SetNoDelay(connection.Fd);
        var received = OpenReceiveStream(connection, MaxQueuedPerConnection);
        try
        {
            while (await NextReceivedAsync(connection, received))
            {
                var lease = received.Current;
                try
                {
                    await SendAllAsync(connection, lease.Memory!, lease.Length);
                }
                finally
                {
                    ReturnLease(lease);
                }
            }
        }
        finally
        {
            await received.DisposeAsync(); // cancels the receive (if still armed) and returns what it queued
        }
    }
}
