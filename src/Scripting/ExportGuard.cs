namespace Uring.Scripting;

/// <summary>
/// The one error guard of the C ABI: no exception may cross the C boundary (it would end the
/// process), so every entry point catches whatever its body raised and returns <see cref="Fail"/>'s
/// -errno; the message, the kind and the errno wait in the thread's last error (<see cref="LastError"/>).
/// </summary>
internal static class ExportGuard
{
    /// <summary>Records <paramref name="error"/> as the thread's last error; returns the -errno to hand back.</summary>
    internal static int Fail(Exception error) => LastError.Set(error);
}
