namespace Uring.Cli.Serving;

/// <summary>Which sample server <c>uring serve</c> runs.</summary>
public enum ServerKind
{
    /// <summary><c>serve echo</c> on the façade.</summary>
    Echo,

    /// <summary><c>serve echo --engine socket</c>: .NET's <see cref="System.Net.Sockets.Socket"/>, the benchmark's baseline.</summary>
    SocketEcho,

    /// <summary><c>serve http</c>.</summary>
    Http,
}
