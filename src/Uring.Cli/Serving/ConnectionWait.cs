namespace Uring.Cli.Serving;

/// <summary>What a connection is waiting for; the watchdog cancels that when its deadline passes.</summary>
internal enum ConnectionWait : byte
{
    None,
    Receive,
    Send,
    Buffer,

    /// <summary>The next lease of the connection's multishot receive (<see cref="Connection.StreamStop"/> ends it).</summary>
    ReceiveStream,
}
