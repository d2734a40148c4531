using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Uring.Bindings.Tests.Infrastructure;

/// <summary>Places a T after one byte: the offset of <see cref="Value"/> is T's alignment as the runtime lays it out.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct AlignmentProbe<T> where T : unmanaged
{
    public byte Pad;
    public T Value;
}

/// <summary>Layout facts about the generated C# types, found by reflection.</summary>
public static unsafe class ClrLayout
{
    /// <summary>The bindings this test project is built against (the checked-in default generation).</summary>
    public static readonly Assembly Bindings = typeof(LiburingLibrary).Assembly;

    public static Type? FindType(string csName) => FindType(Bindings, csName);

    /// <summary>A generated type in a given build of the bindings (another pinned generation's, say).</summary>
    public static Type? FindType(Assembly bindings, string csName) => bindings.GetType("Uring.Bindings." + csName, throwOnError: false);

    public static int SizeOf(Type type)
    {
        if (type.IsPointer || type.IsFunctionPointer || type == typeof(IntPtr) || type == typeof(UIntPtr))
            return IntPtr.Size;
        return (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(type).Invoke(null, null)!;
    }

    /// <summary>Alignment from the runtime's own layout of <c>{ byte; T; }</c>, read by pointer arithmetic.</summary>
    public static int AlignOf(Type type) =>
        (int)typeof(ClrLayout).GetMethod(nameof(AlignOfCore), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(type).Invoke(null, null)!;

    /// <summary>Alignment as the interop marshaller reports it: Marshal.OffsetOf on the same probe.</summary>
    public static int MarshalAlignOf(Type type) =>
        (int)Marshal.OffsetOf(typeof(AlignmentProbe<>).MakeGenericType(type), nameof(AlignmentProbe<byte>.Value));

    private static int AlignOfCore<T>() where T : unmanaged
    {
        AlignmentProbe<T> probe = default;
        return (int)((byte*)&probe.Value - (byte*)&probe);
    }

    public static IReadOnlyList<FieldInfo> InstanceFields(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance);

    public static FieldInfo? InstanceField(Type type, string name) =>
        type.GetField(name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance);

    /// <summary>Offset of a field: Marshal.OffsetOf, cross-checked against [FieldOffset] when present.</summary>
    public static (long Offset, long? Declared) OffsetOf(Type type, FieldInfo field)
    {
        var offset = (long)Marshal.OffsetOf(type, field.Name);
        var declared = field.GetCustomAttribute<FieldOffsetAttribute>()?.Value;
        return (offset, declared);
    }

    /// <summary>
    /// Calls the generated accessor of a flexible array member, <c>static T* name(Record* self)</c>,
    /// on a zeroed native buffer and returns the byte distance from the record's start, and the
    /// size of the element type it points to.
    /// </summary>
    public static (long Offset, long ElementSize) FlexibleMemberOffset(Type record, MethodInfo accessor)
    {
        var size = Math.Max(SizeOf(record), 1);
        var buffer = NativeMemory.AlignedAlloc((nuint)(size + 256), 64);
        try
        {
            NativeMemory.Clear(buffer, (nuint)(size + 256));
            var self = Pointer.Box(buffer, record.MakePointerType());
            var result = accessor.Invoke(null, [self]);
            var address = Pointer.Unbox(result!);
            var elementType = accessor.ReturnType.GetElementType()!;
            return ((byte*)address - (byte*)buffer, SizeOf(elementType));
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    /// <summary>The flexible-member accessor: public static, one parameter of type Record*, returning a pointer.</summary>
    public static MethodInfo? FlexibleAccessor(Type record, string name) =>
        record.GetMethods(BindingFlags.Public | BindingFlags.Static)
            .SingleOrDefault(m => m.Name == name
                                  && m.ReturnType.IsPointer
                                  && m.GetParameters() is [var p]
                                  && p.ParameterType == record.MakePointerType());
}
