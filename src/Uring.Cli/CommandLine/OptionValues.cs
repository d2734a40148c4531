using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Uring.Cli.CommandLine;

/// <summary>
/// Options with strict value parsing and documented bounds: a bad value is a parse error
/// (exit code 2) naming the option, never an exception from int.Parse.
/// </summary>
internal static class OptionValues
{
    /// <summary>A whole number in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<int> Count(string name, string description, int min, int max, int defaultValue, bool powerOfTwo = false) =>
        new(name)
        {
            Description = $"{description} ({min}..{max}{(powerOfTwo ? ", a power of two" : "")})",
            HelpName = "N",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                var text = Single(result);
                if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                    return Fail<int>(result, $"{name}: '{text}' is not a whole number");
                if (value < min || value > max)
                    return Fail<int>(result, $"{name} must be between {min} and {max}, not {text}");
                if (powerOfTwo && (value & (value - 1)) != 0)
                    return Fail<int>(result, $"{name} must be a power of two, not {text}");
                return (int)value;
            },
        };

    /// <summary>A byte count: digits with an optional binary suffix K, M, G or T (64K = 65536), in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<long> Bytes(string name, string description, long min, long max, long? defaultValue)
    {
        var option = new Option<long>(name)
        {
            Description = $"{description} ({FormatBytes(min)}..{FormatBytes(max)}; suffixes K, M, G, T)",
            HelpName = "BYTES",
            CustomParser = result =>
            {
                var text = Single(result);
                if (!TryParseBytes(text, out var value))
                    return Fail<long>(result, $"{name}: '{text}' is not a byte count (digits, optionally followed by K, M or G)");
                if (value < min || value > max)
                    return Fail<long>(result, $"{name} must be between {FormatBytes(min)} and {FormatBytes(max)}, not {text}");
                return value;
            },
        };
        if (defaultValue is { } d)
            option.DefaultValueFactory = _ => d; // without one, ParseResult.GetResult(option) is null when it is not given
        return option;
    }

    /// <summary>A duration in seconds (decimals allowed); 0 turns the timeout off.</summary>
    public static Option<double> Seconds(string name, string description, double max, TimeSpan defaultValue) =>
        new(name)
        {
            Description = $"{description} (0 = no limit, at most {max})",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => defaultValue.TotalSeconds,
            CustomParser = result =>
            {
                var text = Single(result);
                if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
                    return Fail<double>(result, $"{name}: '{text}' is not a number of seconds");
                if (value > max)
                    return Fail<double>(result, $"{name} must be at most {max} seconds, not {text}");
                return value;
            },
        };

    /// <summary>One of a few words.</summary>
    public static Option<string> OneOf(string name, string description, params string[] choices) =>
        new(name)
        {
            Description = $"{description}",
            HelpName = string.Join('|', choices),
            DefaultValueFactory = _ => choices[0],
            CustomParser = result =>
            {
                var text = Single(result);
                return choices.Contains(text) ? text : Fail<string>(result, $"{name} must be {string.Join(" or ", choices)}, not '{text}'");
            },
        };

    /// <summary>A TCP port, 0..65535 (0: the kernel picks a free one).</summary>
    public static Option<int> Port(int defaultValue) =>
        new("--port")
        {
            Description = "TCP port to listen on (0..65535; 0 = any free port)",
            HelpName = "N",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                var text = Single(result);
                if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
                    return Fail<int>(result, $"--port: '{text}' is not a port number (0..65535)");
                return port;
            },
        };

    /// <summary>An IPv4 address in dotted-quad form or an IPv6 address.</summary>
    public static Option<IPAddress> Address(IPAddress defaultValue) =>
        new("--address")
        {
            Description = "address to listen on: IPv4 (a.b.c.d) or IPv6",
            HelpName = "IP",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                var text = Single(result);
                return TryParseAddress(text, out var address)
                    ? address
                    : Fail<IPAddress>(result, $"--address: '{text}' is not an IPv4 address (four numbers 0..255) or an IPv6 address");
            },
        };

    /// <summary>
    /// Strict address syntax: IPAddress.TryParse alone also takes legacy forms ("1" is 0.0.0.1,
    /// "127.1" is 127.0.0.1) that nobody types on purpose.
    /// </summary>
    public static bool TryParseAddress(string text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.Contains(':'))
            return IPAddress.TryParse(text, out address!) && address.AddressFamily == AddressFamily.InterNetworkV6;
        var parts = text.Split('.');
        if (parts.Length != 4)
            return false;
        Span<byte> bytes = stackalloc byte[4];
        for (var i = 0; i < 4; i++)
        {
            if (parts[i].Length is 0 or > 3 || !byte.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out bytes[i]))
                return false;
        }
        address = new IPAddress(bytes);
        return true;
    }

    public static bool TryParseBytes(string text, out long value)
    {
        value = 0;
        var span = text.AsSpan().Trim();
        long multiplier = 1;
        if (span.Length > 0 && char.IsAsciiLetter(span[^1]))
        {
            multiplier = char.ToUpperInvariant(span[^1]) switch
            {
                'K' => 1L << 10,
                'M' => 1L << 20,
                'G' => 1L << 30,
                'T' => 1L << 40,
                _ => 0,
            };
            if (multiplier == 0)
                return false;
            span = span[..^1];
        }
        if (!long.TryParse(span, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number > long.MaxValue / multiplier)
            return false;
        value = number * multiplier;
        return true;
    }

    public static string FormatBytes(long bytes) =>
        bytes >= 1L << 40 && bytes % (1L << 40) == 0 ? $"{bytes >> 40}T" :
        bytes >= 1L << 30 && bytes % (1L << 30) == 0 ? $"{bytes >> 30}G" :
        bytes >= 1L << 20 && bytes % (1L << 20) == 0 ? $"{bytes >> 20}M" :
        bytes >= 1L << 10 && bytes % (1L << 10) == 0 ? $"{bytes >> 10}K" :
        bytes.ToString(CultureInfo.InvariantCulture);

    private static string Single(ArgumentResult result) => result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";

    private static T Fail<T>(ArgumentResult result, string message)
    {
        result.AddError(message);
        return default!;
    }
}
