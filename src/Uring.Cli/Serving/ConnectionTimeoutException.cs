namespace Uring.Cli.Serving;

/// <summary>A connection's deadline passed (idle, request head, or a send that made no progress).</summary>
internal sealed class ConnectionTimeoutException(ConnectionWait what)
    : Exception($"The connection timed out waiting for {what}.")
{
    /// <summary>What the connection was waiting for.</summary>
    public ConnectionWait What { get; } = what;
}
