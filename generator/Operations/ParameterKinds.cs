namespace Uring.Generator.Operations;

/// <summary>
/// What one kind of operation parameter means in generated C#: its type at the entry point, the
/// fields it becomes in the operation kind, the checks made on the caller's thread before
/// anything is taken, what is taken afterwards (handle references, native copies), what is
/// lent to the kernel and given back, and how it reads in a <c>prep</c> statement.
/// </summary>
internal abstract class ParameterKind(OperationSpec operation, ParameterSpec parameter)
{
    protected OperationSpec Operation { get; } = operation;
    public ParameterSpec Parameter { get; } = parameter;

    /// <summary>The C# name of the parameter (escaped if it is a keyword).</summary>
    public string Arg => CSharp.Escape(Parameter.Name);

    /// <summary>The kind's field for this parameter.</summary>
    public string Field => char.ToUpperInvariant(Parameter.Name[0]) + Parameter.Name[1..];

    /// <summary>A local holding the checked value, before the object is rented.</summary>
    protected string Local => Parameter.Name + "Value";

    protected string NameOf => $"nameof({Arg})";
    protected string OpcodeExpr => $"io_uring_op.{Operation.Opcode}";

    public abstract string CsType { get; }

    public virtual IEnumerable<string> Fields => [$"internal {FieldType} {Field};"];
    protected virtual string FieldType => CsType;
    public virtual IEnumerable<string> Clear => [$"{Field} = default!;"];
    /// <summary>Statements before the object is rented (may declare locals named after the field).</summary>
    public virtual IEnumerable<string> Checks => [];
    /// <summary>Statements after renting that cannot fail.</summary>
    public virtual IEnumerable<string> Assign => [$"op.{Field} = {Arg};"];
    /// <summary>Statements after renting that may fail; what they took is given back by <c>GiveBack</c>.</summary>
    public virtual IEnumerable<string> Acquire => [];
    public virtual string? Lend => null;
    /// <summary>An expression that asks the lent buffer(s) to be released at the CQE instead of given
    /// back (an abandoned wait); its value is the mask of buffers still lent (see <c>ILendsBuffers</c>).</summary>
    public virtual string? ReleaseWhenReturned => null;
    public virtual string? GiveBack => null;
    public virtual string? Abandon => null;
    public virtual string? Forget => null;

    /// <summary>The expression standing for the parameter in a prep statement.</summary>
    public virtual string Expand => Field;

    /// <summary>The expression for <c>parameter.Member</c> in a prep statement.</summary>
    public virtual string ExpandMember => Field;

    public static ParameterKind Of(OperationSpec op, ParameterSpec p) => p.Kind switch
    {
        "fd" => new FdKind(op, p),
        "rawfd" => new RawFdKind(op, p),
        "buffer" => new BufferKind(op, p),
        "buffers" => p.Max is > 0 ? new BuffersKind(op, p) : throw Missing(op, p, "max"),
        "registeredBuffer" => new RegisteredBufferKind(op, p),
        "registeredFile" => new RegisteredFileKind(op, p),
        "length" => p.Of is not null ? new LengthKind(op, p) : throw Missing(op, p, "of"),
        "offset" => new OffsetKind(op, p),
        "int" or "uint" or "long" => new NumberKind(op, p),
        "enum" => p.Type is not null && p.Native is "int" or "uint" ? new EnumKind(op, p) : throw Missing(op, p, "type and native (int or uint)"),
        "path" => new PathKind(op, p),
        "endpoint" => new EndPointKind(op, p),
        "timespan" => new TimeSpanKind(op, p),
        "deadline" => new DeadlineKind(op, p),
        "timestamp" => new TimestampKind(op, p),
        "bufferRing" => new BufferRingKind(op, p),
        "backoff" => new BackoffKind(op, p),
        _ => throw new InvalidOperationException($"operations.json: {op.Name}: parameter '{p.Name}' has an unknown kind '{p.Kind}'."),
    };

    private static InvalidOperationException Missing(OperationSpec op, ParameterSpec p, string what) =>
        new($"operations.json: {op.Name}: parameter '{p.Name}' ({p.Kind}) needs {what}.");
}

/// <summary>A file: FileDescriptor (int, SafeHandle, Socket, RegisteredFile); handles are referenced while the kernel uses them.</summary>
internal sealed class FdKind(OperationSpec op, ParameterSpec p) : ParameterKind(op, p)
{
    public override string CsType => "FileDescriptor";
    public override IEnumerable<string> Fields => [$"internal int {Field};", $"internal SafeHandle? {Field}Handle;"];
    public override IEnumerable<string> Clear => [$"{Field} = 0;", $"{Field}Handle = null;"];
    public override IEnumerable<string> Checks => Parameter.Directory
        ? [$"{Arg}.Check({NameOf}, allowRegistered: false, allowCurrentDirectory: true);"]
        : [$"{Arg}.Check({NameOf});"];
    public override IEnumerable<string> Assign => [];
    public override IEnumerable<string> Acquire => [$"op.{Field} = {Arg}.Acquire(ring, ref op.SqeFlags, ref op.{Field}Handle, {NameOf});"];
    public override string? GiveBack => $"FileDescriptor.Release(ref {Field}Handle);";
    public override string? Abandon => $"{Field}Handle = null; // the kernel may still use the fd: keep the handle's reference forever";
}

/// <summary>A plain fd only (for operations that end an fd's life, like close).</summary>
internal sealed class RawFdKind(OperationSpec op, ParameterSpec p) : ParameterKind(op, p)
{
    public override string CsType => "int";
    public override IEnumerable<string> Checks => [$"ArgumentChecks.NotNegative({Arg}, {NameOf});"];
}

internal sealed class BufferKind(OperationSpec op, ParameterSpec p) : ParameterKind(op, p)
{
    public override string CsType => "OwnershipMemory";
    public override IEnumerable<string> Fields => [$"internal OwnershipMemory {Field} = null!;"];
    public override IEnumerable<string> Clear => [$"{Field} = null!;"];
    public override IEnumerable<string> Checks => Parameter.KernelOnlyReads
        ? [$"ArgumentNullException.ThrowIfNull({Arg});"]
        : [$"ArgumentChecks.WritableBuffer({Arg}, {OpcodeExpr}, {NameOf});"];
    public override string? Lend => $"BufferLending.Lend({Field}, Opcode, chainLent);";
    public override string? ReleaseWhenReturned => $"BufferLending.ReleaseWhenReturned({Field})";
    public override string? GiveBack => $"BufferLending.GiveBack({Field}, success);";
    public override string? Abandon => $"BufferLending.Quarantine({Field});";
    public override string? Forget => $"{Field} = null!;";
    public override string Expand => $"{Field}.Pointer";
}

internal sealed class BuffersKind(OperationSpec op, ParameterSpec p) : ParameterKind(op, p)
{
    public override string CsType => "OwnershipMemory[]";
    public override IEnumerable<string> Fields => [$"internal OwnershipMemory[] {Field} = null!;"];
    public override IEnumerable<string> Clear => [$"{Field} = null!;"];
    public override IEnumerable<string> Checks => [$"ArgumentChecks.BufferList({Arg}, {Parameter.Max}, {OpcodeExpr}, {NameOf}, writable: {(Parameter.KernelOnlyReads ? "false" : "true")});"];
    public override string? Lend => $"BufferLending.Lend({Field}, Opcode, chainLent);";
    public override string? ReleaseWhenReturned => $"BufferLending.ReleaseWhenReturned({Field})";
    public override string? GiveBack => $"BufferLending.GiveBack({Field}, success);";
    public override string? Abandon => $"BufferLending.Quarantine({Field});";
    public override string? Forget => $"{Field} = null!;";
    public override string Expand => $"ScratchMemory.Iovecs(Scratch, {Field}), (uint){Field}.Length";
}

internal sealed class RegisteredBufferKind(OperationSpec op, ParameterSpec p) : ParameterKind(op, p)
{
    public override string CsType => "RegisteredBuffer";
    public override IEnumerable<string> Checks => [$"ring.CheckRegisteredBuffer({Arg}, {NameOf});"];
    public override string? Lend => $"BufferLending.Lend({Field}.Memory, Opcode, chainLent);";
    public override string? ReleaseWhenReturned => $"BufferLending.ReleaseWhenReturned({Field}.Memory)";
    public override string? GiveBack => $"BufferLending.GiveBack({Field}.Memory, success);";
    public override string? Abandon => $"BufferLending.Quarantine({Field}.Memory);";
    public override string? Forget => $"{Field} = default;";
    public override string Expand => $"{Field}.Memory.Pointer";
}

internal sealed class RegisteredFileKind(OperationSpec op, ParameterSpec p) : ParameterKind(op, p)
{
    public override string CsType => "RegisteredFile";
    protected override string FieldType => "int";
    public override IEnumerable<string> Checks => [$"ring.CheckRegisteredFile({Arg}, {NameOf});"];
    public override IEnumerable<string> Assign => [$"op.{Field} = {Arg}.Index;"];
}

/// <summary>A byte count within a buffer parameter: -1 for all of it.</summary>
internal sealed class LengthKind(OperationSpec op, ParameterSpec p) : ParameterKind(op, p)
{
    public override string CsType => "int";
    protected override string FieldType => "uint";
    private string BufferLength
    {
        get
        {
            var of = Operation.Params.First(q => q.Name == Parameter.Of);
            var ofArg = CSharp.Escape(of.Name);
            return of.Kind == "registeredBuffer" ? $"{ofArg}.Memory.Length" : $"{ofArg}.Length";
        }
    }
    public override IEnumerable<string> Checks => [$"var {Local} = ArgumentChecks.Length({Arg}, {BufferLength}, {OpcodeExpr}, {NameOf});"];
    public override IEnumerable<string> Assign => [$"op.{Field} = {Local};"];
}

/// <summary>A file offset: &gt;= 0, or -1 for the current position.</summary>
internal sealed class OffsetKind(OperationSpec op, ParameterSpec p) : ParameterKind(op, p)
{
    public override string CsType => "long";
    protected override string FieldType => "ulong";
    public override IEnumerable<string> Checks => [$"ArgumentChecks.Offset({Arg}, {NameOf});"];
    public override IEnumerable<string> Assign => [$"op.{Field} = (ulong){Arg};"];
}

internal sealed class NumberKind(OperationSpec op, ParameterSpec p) : ParameterKind(op, p)
{
    public override string CsType => Parameter.Kind;
    public override IEnumerable<string> Checks => Parameter.Min is null ? [] :
        [$"ArgumentOutOfRangeException.ThrowIfLessThan({Arg}, {Parameter.Min}{(Parameter.Kind == "long" ? "L" : "")}, {NameOf});"];
}

internal sealed class EnumKind(OperationSpec op, ParameterSpec p) : ParameterKind(op, p)
{
    public override string CsType => Parameter.Type!;
    protected override string FieldType => Parameter.Convert is null ? Parameter.Type! : Parameter.Native!;
    public override IEnumerable<string> Checks => Parameter.Convert is null ? [] : [$"var {Local} = {Parameter.Convert}({Arg});"];
    public override IEnumerable<string> Assign => Parameter.Convert is null ? base.Assign : [$"op.{Field} = {Local};"];
}

/// <summary>A path: a native NUL-terminated UTF-8 copy, freed when the kernel is done.</summary>
internal sealed class PathKind(OperationSpec op, ParameterSpec p) : ParameterKind(op, p)
{
    public override string CsType => "string";
    public override IEnumerable<string> Fields => [$"internal byte* {Field};", $"internal nuint {Field}Size;"];
    public override IEnumerable<string> Clear => [$"{Field} = null;", $"{Field}Size = 0;"];
    public override IEnumerable<string> Checks => [$"ArgumentChecks.Path({Arg}, {NameOf});"];
    public override IEnumerable<string> Assign => [];
    public override IEnumerable<string> Acquire => [$"op.{Field} = NativeArgument.Path({Arg}, out op.{Field}Size);"];
    public override string? GiveBack => $"NativeArgument.Free(ref {Field}, ref {Field}Size);";
    public override string? Abandon => $"NativeArgument.Leak(ref {Field}, ref {Field}Size);";
}

/// <summary>An IPv4/IPv6 end point: a native sockaddr copy, freed when the kernel is done.</summary>
internal sealed class EndPointKind(OperationSpec op, ParameterSpec p) : ParameterKind(op, p)
{
    public override string CsType => Parameter.Optional ? "IPEndPoint?" : "IPEndPoint";
    public override IEnumerable<string> Fields => [$"internal byte* {Field};", $"internal nuint {Field}Length;"];
    public override IEnumerable<string> Clear => [$"{Field} = null;", $"{Field}Length = 0;"];
    public override IEnumerable<string> Checks => Parameter.Optional
        ? [$"if ({Arg} is not null)", $"    SocketAddressCodec.SizeOf({Arg}); // refuses non-IP end points"]
        : [$"ArgumentNullException.ThrowIfNull({Arg});", $"SocketAddressCodec.SizeOf({Arg}); // refuses non-IP end points"];
    public override IEnumerable<string> Assign => [];
    public override IEnumerable<string> Acquire => Parameter.Optional
        ? [$"if ({Arg} is not null)", $"    op.{Field} = NativeArgument.EndPoint({Arg}, out op.{Field}Length);"]
        : [$"op.{Field} = NativeArgument.EndPoint({Arg}, out op.{Field}Length);"];
    public override string? GiveBack => $"NativeArgument.Free(ref {Field}, ref {Field}Length);";
    public override string? Abandon => $"NativeArgument.Leak(ref {Field}, ref {Field}Length);";
    public override string Expand => $"(sockaddr*){Field}, (uint){Field}Length";
}

/// <summary>A time value written into the slot's scratch memory as a __kernel_timespec when the SQE is prepared.</summary>
internal abstract class TimespecKind(OperationSpec op, ParameterSpec p) : ParameterKind(op, p)
{
    public override IEnumerable<string> Fields => [$"internal long {Field}Seconds, {Field}Nanoseconds;"];
    public override IEnumerable<string> Clear => [$"{Field}Seconds = {Field}Nanoseconds = 0;"];
    public override IEnumerable<string> Assign => [$"(op.{Field}Seconds, op.{Field}Nanoseconds) = {Local};"];
    public override string Expand => $"ScratchMemory.Timespec(Scratch, {Field}Seconds, {Field}Nanoseconds)";
}

internal sealed class TimeSpanKind(OperationSpec op, ParameterSpec p) : TimespecKind(op, p)
{
    public override string CsType => "TimeSpan";
    public override IEnumerable<string> Checks => [$"var {Local} = TimeConversions.Relative({Arg}, {NameOf});"];
}

internal sealed class DeadlineKind(OperationSpec op, ParameterSpec p) : TimespecKind(op, p)
{
    public override string CsType => "DateTimeOffset";
    public override IEnumerable<string> Checks => [$"var {Local} = TimeConversions.WallClock({Arg}, {NameOf});"];
}

internal sealed class TimestampKind(OperationSpec op, ParameterSpec p) : TimespecKind(op, p)
{
    public override string CsType => "long";
    public override IEnumerable<string> Checks => [$"var {Local} = TimeConversions.Monotonic({Arg}, {NameOf});"];
}

internal sealed class BufferRingKind(OperationSpec op, ParameterSpec p) : ParameterKind(op, p)
{
    public override string CsType => "BufferRing";
    public override IEnumerable<string> Fields => [$"internal BufferRing {Field} = null!;"];
    public override IEnumerable<string> Clear => [$"{Field} = null!;"];
    public override IEnumerable<string> Checks => [$"ring.CheckBufferRing({Arg}, {NameOf});"];
}

/// <summary>The wait between retries of a stream that pauses (<c>AcceptBackoff</c>; null: the stream's default). Streams only: it never reaches an SQE.</summary>
internal sealed class BackoffKind(OperationSpec op, ParameterSpec p) : ParameterKind(op, p)
{
    public override string CsType => "AcceptBackoff?";
}
