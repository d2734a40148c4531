using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Uring.Scripting;

// The hot path again, with 32-bit arguments only (ring and buffer ids, split offsets).
public static unsafe partial class Exports
{
    // ------------------------------------------------------------------ 32-bit entry points (the hot path)

    // Same operations as above, with every argument a 32-bit int: a ring id, a buffer id, a
    // token below 2^31, 64-bit offsets split into low and high halves. A caller that passes
    // plain integers (ctypes without argtypes) pays far less per call.

    private static long Join(int low, int high) => ((long)high << 32) | (uint)low;

    /// <summary><c>int uring_set_reap_buffer(intptr_t ring, completion* array, int capacity)</c>: the array <see cref="ReapI"/> fills (the caller keeps it alive as long as the ring).</summary>
    [UnmanagedCallersOnly]
    public static int SetReapBuffer(nint ring, Completion* completions, int capacity)
    {
        try
        {
            RingOf(ring).SetReapBuffer(completions, capacity);
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_reap_i(int ring, int timeout_ms)</c>: <see cref="Reap"/> into the registered array.</summary>
    [UnmanagedCallersOnly]
    public static int ReapI(int ring, int timeoutMs)
    {
        try
        {
            return HandleTable.Get<ScriptRing>(ring).ReapRegistered(timeoutMs);
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_nop_i(int ring, int token)</c>: <see cref="Nop"/>.</summary>
    [UnmanagedCallersOnly]
    public static int NopI(int ring, int token)
    {
        try
        {
            var r = HandleTable.Get<ScriptRing>(ring);
            r.CheckToken((uint)token);
            r.Track((uint)token, r.Ring.Nop());
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_read_i(int ring, int token, int fd, int buffer, int offset_low, int offset_high, int length, int timeout_us)</c>: <see cref="Read"/>.</summary>
    [UnmanagedCallersOnly]
    public static int ReadI(int ring, int token, int fd, int buffer, int offsetLow, int offsetHigh, int length, int timeoutUs)
    {
        try
        {
            var r = HandleTable.Get<ScriptRing>(ring);
            r.CheckToken((uint)token);
            var memory = HandleTable.Get<OwnershipMemory>(buffer);
            var offset = Join(offsetLow, offsetHigh);
            r.Track((uint)token, timeoutUs > 0
                ? r.Ring.Read(fd, memory, offset, TimeSpan.FromMicroseconds(timeoutUs), length)
                : r.Ring.Read(fd, memory, offset, length));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_write_i(int ring, int token, int fd, int buffer, int offset_low, int offset_high, int length)</c>: <see cref="Write"/>.</summary>
    [UnmanagedCallersOnly]
    public static int WriteI(int ring, int token, int fd, int buffer, int offsetLow, int offsetHigh, int length)
    {
        try
        {
            var r = HandleTable.Get<ScriptRing>(ring);
            r.CheckToken((uint)token);
            r.Track((uint)token, r.Ring.Write(fd, HandleTable.Get<OwnershipMemory>(buffer), Join(offsetLow, offsetHigh), length));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_send_i(int ring, int token, int fd, int buffer, int length, int flags)</c>: <see cref="Send"/>.</summary>
    [UnmanagedCallersOnly]
    public static int SendI(int ring, int token, int fd, int buffer, int length, int flags)
    {
        try
        {
            var r = HandleTable.Get<ScriptRing>(ring);
            r.CheckToken((uint)token);
            r.Track((uint)token, r.Ring.Send(fd, HandleTable.Get<OwnershipMemory>(buffer), length, (MessageFlags)flags));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_recv_i(int ring, int token, int fd, int buffer, int length, int flags)</c>: <see cref="Recv"/>.</summary>
    [UnmanagedCallersOnly]
    public static int RecvI(int ring, int token, int fd, int buffer, int length, int flags)
    {
        try
        {
            var r = HandleTable.Get<ScriptRing>(ring);
            r.CheckToken((uint)token);
            r.Track((uint)token, r.Ring.Receive(fd, HandleTable.Get<OwnershipMemory>(buffer), length, (MessageFlags)flags));
            return 0;
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_nop_wait_i(int ring, int token, int wait_ms)</c>: <see cref="NopWait"/>.</summary>
    [UnmanagedCallersOnly]
    public static int NopWaitI(int ring, int token, int waitMs)
    {
        try
        {
            var r = HandleTable.Get<ScriptRing>(ring);
            r.CheckToken((uint)token);
            return WaitOrTrack(r, (uint)token, r.Ring.Nop(), waitMs);
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_read_wait_i(int ring, int token, int fd, int buffer, int offset_low, int offset_high, int length, int wait_ms)</c>: <see cref="ReadWait"/>.</summary>
    [UnmanagedCallersOnly]
    public static int ReadWaitI(int ring, int token, int fd, int buffer, int offsetLow, int offsetHigh, int length, int waitMs)
    {
        try
        {
            var r = HandleTable.Get<ScriptRing>(ring);
            r.CheckToken((uint)token);
            return WaitOrTrack(r, (uint)token, r.Ring.Read(fd, HandleTable.Get<OwnershipMemory>(buffer), Join(offsetLow, offsetHigh), length), waitMs);
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }

    /// <summary><c>int uring_write_wait_i(int ring, int token, int fd, int buffer, int offset_low, int offset_high, int length, int wait_ms)</c>: <see cref="WriteWait"/>.</summary>
    [UnmanagedCallersOnly]
    public static int WriteWaitI(int ring, int token, int fd, int buffer, int offsetLow, int offsetHigh, int length, int waitMs)
    {
        try
        {
            var r = HandleTable.Get<ScriptRing>(ring);
            r.CheckToken((uint)token);
            return WaitOrTrack(r, (uint)token, r.Ring.Write(fd, HandleTable.Get<OwnershipMemory>(buffer), Join(offsetLow, offsetHigh), length), waitMs);
        }
        catch (Exception e)
        {
            return LastError.Set(e);
        }
    }
}
