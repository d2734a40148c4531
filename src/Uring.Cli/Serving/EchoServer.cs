namespace Uring.Cli.Serving;

/// <summary>
/// <c>uring serve echo</c>: every byte a client sends comes back. Multishot accept; per
/// connection, a buffer-select receive from the provided buffer ring and a send straight from
/// the leased buffer, then the next receive.
/// </summary>
/// <remarks>
/// A connection holds at most one ring buffer, and only while its echo is being sent; it reads
/// again only once that send is done. A client that sends without reading therefore fills the
/// socket buffers and is then simply not read — it cannot take the ring's buffers from the
/// others — and is closed when a send makes no progress for the send timeout.
/// </remarks>
internal sealed class EchoServer(ServerSettings settings, TextWriter log) : RingServer(settings, log, "echo ring")
{
    protected override async Task ServeConnectionAsync(Connection connection)
    {
        NetSocket.SetNoDelay(connection.Fd);
        while (true)
        {
            var lease = await ReceiveAsync(connection, DeadlineAfter(Settings.IdleTimeout));
            if (lease.IsEndOfStream)
                return;
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
}
