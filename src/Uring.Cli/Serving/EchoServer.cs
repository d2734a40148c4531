namespace Uring.Cli.Serving;

/// <summary>
/// <c>uring serve echo</c>: every byte a client sends comes back, in order. Multishot accept;
/// per connection, one multishot receive from the provided buffer ring that stays armed, and a
/// send straight from each leased buffer, which goes back to the ring once it is sent.
/// </summary>
/// <remarks>
/// <para>The receive is bounded (<see cref="MaxQueuedPerConnection"/>): a client that sends
/// faster than its echoes drain — one that sends without reading, at worst — holds at most that
/// many ring buffers besides the one being sent. Its receive then pauses, the rest of its data
/// waits in the socket (TCP flow control holds the client), and it cannot take the ring's
/// buffers from the others; it is closed when a send makes no progress for the send
/// timeout.</para>
/// <para>A request costs one CQE for the data and one SQE and CQE for its echo. Everything is
/// awaited directly in <see cref="ServeConnectionAsync"/>, whose state machine is allocated once
/// per connection: no helper state machine per request, nothing allocated per request.</para>
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
            while (true)
            {
                bool more;
                BeginReceiveWait(connection);
                try
                {
                    more = await received.MoveNextAsync();
                }
                catch (Exception e)
                {
                    throw EndReceiveWait(connection, e)!;
                }
                EndReceiveWait(connection);
                if (!more)
                    return; // the client closed its side
                var lease = received.Current;
                try
                {
                    // Echo straight from the leased buffer; a short send goes on from where it stopped.
                    for (var sent = 0; sent < lease.Length;)
                    {
                        var send = BeginSend(connection, lease.Memory!, sent, lease.Length - sent);
                        int n;
                        try
                        {
                            (n, _) = await send;
                        }
                        catch (Exception e)
                        {
                            throw EndSend(connection, 0, e)!;
                        }
                        if (EndSend(connection, n) is { } failed)
                            throw failed;
                        sent += n;
                    }
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
