using System.Net;
using System.Text;

namespace Uring;

/// <summary>
/// Native copies of arguments the kernel reads through a pointer (a path, a socket address):
/// allocated when the operation is created, freed when the kernel is done with it, and leaked
/// deliberately if the kernel never answers.
/// </summary>
internal static unsafe class NativeArgument
{
    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="path"/>.</summary>
    internal static byte* Path(string path, out nuint size)
    {
        size = (nuint)Encoding.UTF8.GetByteCount(path) + 1;
        var p = (byte*)NativeMemoryStatistics.Allocate(size, 1);
        var written = Encoding.UTF8.GetBytes(path, new Span<byte>(p, (int)size));
        p[written] = 0;
        return p;
    }

    /// <summary>A sockaddr for <paramref name="endPoint"/>; its length in <paramref name="size"/>.</summary>
    internal static byte* EndPoint(IPEndPoint endPoint, out nuint size) => SocketAddressCodec.AllocateNative(endPoint, out size);

    internal static void Free(ref byte* pointer, ref nuint size)
    {
        if (pointer != null)
            NativeMemoryStatistics.Free(pointer, size);
        pointer = null;
        size = 0;
    }

    /// <summary>The kernel may still read it: never free it.</summary>
    internal static void Leak(ref byte* pointer, ref nuint size)
    {
        pointer = null;
        size = 0;
    }
}
