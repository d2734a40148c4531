using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Uring.Scripting;

/// <summary>
/// The C ABI's arguments turned back into the façade's: handles into rings, chains and buffers
/// (each checked: a null or foreign handle is an <see cref="ArgumentException"/>, never a
/// crash), UTF-8 strings, sockaddrs, and times in nanoseconds. One method per parameter kind of
/// the operation table, used by the generated entry points.
/// </summary>
internal static unsafe class ScriptArguments
{
    /// <summary>The ring behind a handle, with <paramref name="token"/> free to name a new operation.</summary>
    internal static ScriptRing Ring(nint handle, ulong token)
    {
        var ring = Target<ScriptRing>(handle, "ring");
        ring.CheckToken(token);
        return ring;
    }

    internal static ScriptRing Ring(nint handle) => Target<ScriptRing>(handle, "ring");

    /// <summary>The ring behind a 32-bit id (the fast entry points).</summary>
    internal static ScriptRing RingById(int id, int token)
    {
        var ring = HandleTable.Get<ScriptRing>(id);
        if (token <= 0)
            throw new ArgumentOutOfRangeException(nameof(token), token, "A 32-bit token is positive.");
        ring.CheckToken((uint)token);
        return ring;
    }

    /// <summary>
    /// A file argument: a descriptor (&gt;= 0, or AT_FDCWD = -100 for directories), or a slot of the
    /// ring's registered file table, passed as <c>INT32_MIN | index</c> (bit 31 set).
    /// </summary>
    internal static FileDescriptor File(int fd) =>
        fd >= 0 || fd == Uring.Ring.CurrentDirectory ? fd : new RegisteredFile(fd & int.MaxValue);

    internal static LinkedChain Chain(nint handle) => Target<LinkedChain>(handle, "chain");

    internal static OwnershipMemory Buffer(nint handle) => Target<OwnershipMemory>(handle, "buffer");

    internal static OwnershipMemory BufferById(int id) => HandleTable.Get<OwnershipMemory>(id);

    internal static BufferRing BufferRing(nint handle) => Target<BufferRing>(handle, "buffer ring");

    internal static OwnershipMemory[] Buffers(nint* handles, int count)
    {
        if (handles == null || count <= 0)
            throw new ArgumentException("At least one buffer is needed.", nameof(handles));
        if (count > 1024)
            throw new ArgumentOutOfRangeException(nameof(count), count, "Too many buffers.");
        var buffers = new OwnershipMemory[count];
        for (var i = 0; i < count; i++)
            buffers[i] = Buffer(handles[i]);
        return buffers;
    }

    internal static RegisteredBuffer RegisteredBuffer(nint buffer, int index) => new(index, Buffer(buffer));

    internal static long Join(int low, int high) => ((long)high << 32) | (uint)low;

    internal static string Utf8(byte* text, string name) =>
        text == null ? throw new ArgumentNullException(name) : Marshal.PtrToStringUTF8((nint)text)!;

    /// <summary>An IPv4 or IPv6 address (UTF-8 text) and a port; a null address only where the parameter is optional.</summary>
    internal static IPEndPoint? EndPoint(byte* host, int port, bool optional)
    {
        if (host == null)
            return optional ? null : throw new ArgumentNullException(nameof(host), "An address is needed.");
        var text = Marshal.PtrToStringUTF8((nint)host)!;
        if (!IPAddress.TryParse(text, out var address))
            throw new ArgumentException($"'{text}' is not an IPv4 or IPv6 address.", nameof(host));
        if (port is < 0 or > 65535)
            throw new ArgumentOutOfRangeException(nameof(port), port, "A port is 0 to 65535.");
        return new IPEndPoint(address, port);
    }

    internal static TimeSpan Duration(long nanoseconds) =>
        nanoseconds < 0 ? throw new ArgumentOutOfRangeException(nameof(nanoseconds), nanoseconds, "A duration cannot be negative.") : TimeSpan.FromTicks(nanoseconds / 100);

    /// <summary>A resilient accept's back-off: each wait in nanoseconds, negative for its default; both negative: null (the defaults).</summary>
    internal static AcceptBackoff? Backoff(long initialNanoseconds, long maximumNanoseconds)
    {
        if (initialNanoseconds < 0 && maximumNanoseconds < 0)
            return null;
        var backoff = new AcceptBackoff();
        if (initialNanoseconds >= 0)
            backoff.Initial = Duration(initialNanoseconds);
        if (maximumNanoseconds >= 0)
            backoff.Maximum = Duration(maximumNanoseconds);
        return backoff; // AcceptMultishotResilient checks it (positive, maximum >= initial)
    }

    internal static DateTimeOffset WallClock(long nanosecondsSinceEpoch) =>
        nanosecondsSinceEpoch < 0
            ? throw new ArgumentOutOfRangeException(nameof(nanosecondsSinceEpoch), nanosecondsSinceEpoch, "The deadline is before 1970.")
            : DateTimeOffset.UnixEpoch.AddTicks(nanosecondsSinceEpoch / 100);

    /// <summary>CLOCK_MONOTONIC nanoseconds (Python's time.monotonic_ns) as a Stopwatch timestamp.</summary>
    internal static long Monotonic(long nanoseconds) =>
        nanoseconds < 0
            ? throw new ArgumentOutOfRangeException(nameof(nanoseconds), nanoseconds, "A timestamp cannot be negative.")
            : (long)((decimal)nanoseconds * Stopwatch.Frequency / 1_000_000_000m);

    /// <summary>The kernel's AF_* number as .NET's <see cref="System.Net.Sockets.AddressFamily"/>.</summary>
    internal static AddressFamily AddressFamily(int linuxFamily) => linuxFamily switch
    {
        1 => System.Net.Sockets.AddressFamily.Unix,
        2 => System.Net.Sockets.AddressFamily.InterNetwork,
        10 => System.Net.Sockets.AddressFamily.InterNetworkV6,
        _ => throw new ArgumentOutOfRangeException(nameof(linuxFamily), linuxFamily, "Supported families: AF_UNIX (1), AF_INET (2), AF_INET6 (10)."),
    };

    /// <summary>The fast entry points: track the operation under <paramref name="token"/>, or (wait_ms &gt;= 0)
    /// drive the ring up to that long and return its result — <see cref="Exports.Pending"/> if it goes on.</summary>
    internal static int StartOrWait<T>(ScriptRing ring, ulong token, CancelableFuture<T> future, int waitMs)
    {
        if (waitMs < 0)
        {
            ring.Track(token, future);
            return 0;
        }
        return ring.WaitOrTrack(token, future, waitMs);
    }

    internal static T Target<T>(nint handle, string what) where T : class
    {
        if (handle == 0)
            throw new ArgumentException($"Null {what} handle.");
        return GCHandle.FromIntPtr(handle).Target as T ?? throw new ArgumentException($"Not a {what} handle.");
    }
}
