namespace Uring.Cli.Http;

/// <summary>The methods the server tells apart.</summary>
public enum HttpRequestMethod : byte
{
    /// <summary>Any other method (a valid token).</summary>
    Other,

    /// <summary>GET.</summary>
    Get,

    /// <summary>HEAD.</summary>
    Head,
}
