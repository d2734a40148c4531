using System.Net.Sockets;
using System.Runtime.InteropServices;
using Uring.Bindings;

namespace Uring;

/// <summary>
/// The file an operation works on: a plain fd (<see cref="int"/>), a <see cref="SafeHandle"/>
/// (a <c>SafeFileHandle</c>, a <see cref="Socket"/>'s handle…), or a slot of the ring's
/// registered file table (<see cref="RegisteredFile"/>, IOSQE_FIXED_FILE). Every form converts
/// implicitly, so operations take any of them.
/// </summary>
/// <remarks>
/// A <see cref="SafeHandle"/> is referenced (<see cref="SafeHandle.DangerousAddRef"/>) from the
/// moment the operation is created until the kernel is done with it, so closing the handle
/// meanwhile cannot close the fd — and a new file cannot take its number — while the kernel
/// still uses it: the fd closes when the operation completes. A plain <see cref="int"/> has no
/// such protection: the caller must keep it open.
/// </remarks>
public readonly struct FileDescriptor
{
    private readonly object? _owner;   // SafeHandle, or s_registered for a registered file slot
    private readonly int _value;       // the fd, or the slot index

    private static readonly object s_registered = new();

    private FileDescriptor(object? owner, int value)
    {
        _owner = owner;
        _value = value;
    }

    /// <summary>A plain fd (the caller keeps it open while operations use it). The implicit
    /// conversion from <see cref="int"/> does the same; this constructor serves languages that do
    /// not apply C#'s conversions (Python.NET, PowerShell).</summary>
    public FileDescriptor(int fd) : this(null, fd)
    {
    }

    /// <summary>A handle, referenced while operations use it (as the implicit conversion).</summary>
    public FileDescriptor(SafeHandle handle) : this(handle ?? throw new ArgumentNullException(nameof(handle)), 0)
    {
    }

    /// <summary>A plain fd (the caller keeps it open while operations use it).</summary>
    public static implicit operator FileDescriptor(int fd) => new(null, fd);

    /// <summary>A handle, referenced while operations use it.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="handle"/> is null.</exception>
    public static implicit operator FileDescriptor(SafeHandle handle) =>
        new(handle ?? throw new ArgumentNullException(nameof(handle)), 0);

    /// <summary>A socket's handle, referenced while operations use it.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="socket"/> is null.</exception>
    public static implicit operator FileDescriptor(Socket socket) =>
        new((socket ?? throw new ArgumentNullException(nameof(socket))).SafeHandle, 0);

    /// <summary>A slot of the ring's registered file table (IOSQE_FIXED_FILE).</summary>
    public static implicit operator FileDescriptor(RegisteredFile file) => new(s_registered, file.Index);

    /// <summary>True for a registered file slot.</summary>
    public bool IsRegistered => ReferenceEquals(_owner, s_registered);

    /// <summary>The handle, for the <see cref="SafeHandle"/> form.</summary>
    public SafeHandle? Handle => _owner as SafeHandle;

    /// <inheritdoc/>
    public override string ToString() =>
        IsRegistered ? $"registered file {_value}" : _owner is SafeHandle h ? $"handle {h.DangerousGetHandle()}" : $"fd {_value}";

    /// <summary>Checks what can be checked before anything is taken. <paramref name="allowCurrentDirectory"/>:
    /// AT_FDCWD (-100) is accepted (directory fds).</summary>
    internal void Check(string name, bool allowRegistered = true, bool allowCurrentDirectory = false)
    {
        if (_owner is null)
        {
            if (_value < 0 && !(allowCurrentDirectory && _value == Ring.CurrentDirectory))
                throw new ArgumentOutOfRangeException(name, _value, "A file descriptor cannot be negative.");
        }
        else if (IsRegistered)
        {
            if (!allowRegistered)
                throw new ArgumentException("This operation cannot use a registered file.", name);
            if (_value < 0)
                throw new ArgumentOutOfRangeException(name, _value, "A registered file index cannot be negative.");
        }
    }

    /// <summary>
    /// The number to put in the SQE. A handle is referenced until <see cref="Release"/> (it is
    /// returned in <paramref name="reference"/>); a registered slot must be in use in the ring's
    /// table and sets IOSQE_FIXED_FILE in <paramref name="sqeFlags"/>.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The handle was closed.</exception>
    internal int Acquire(Ring ring, ref byte sqeFlags, ref SafeHandle? reference, string name)
    {
        if (_owner is null)
            return _value;
        if (IsRegistered)
        {
            var table = ring.FileTable ?? throw new InvalidOperationException("This ring has no registered file table (RegisterFiles).");
            table.CheckInUse(new RegisteredFile(_value));
            sqeFlags |= (byte)Constants.IOSQE_FIXED_FILE;
            return _value;
        }
        var handle = (SafeHandle)_owner;
        if (handle.IsInvalid)
            throw new ArgumentException("The handle is invalid.", name);
        var added = false;
        handle.DangerousAddRef(ref added); // throws ObjectDisposedException when closed
        reference = handle;
        return (int)handle.DangerousGetHandle();
    }

    /// <summary>Ends the reference <see cref="Acquire"/> took (null: nothing to do).</summary>
    internal static void Release(ref SafeHandle? reference)
    {
        var handle = reference;
        reference = null;
        handle?.DangerousRelease();
    }
}
