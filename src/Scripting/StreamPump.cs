using System.Runtime.CompilerServices;

namespace Uring.Scripting;

/// <summary>
/// Turns a façade multishot stream (<see cref="IAsyncEnumerable{T}"/>) into completions: one per
/// item with <see cref="Completion.MoreFlag"/>, then a last one that says how the stream ended.
/// The façade resumes the loop inline on the ring's owner thread while it drives the ring.
/// </summary>
internal static class StreamPump
{
    internal static async Task RunAsync<T>(ScriptRing ring, ulong token, IAsyncEnumerable<T> source, CancellationTokenSource cts)
    {
        var result = 0;
        var status = ErrorKind.None;
        try
        {
            await foreach (var item in source.WithCancellation(cts.Token).ConfigureAwait(false))
            {
                var value = item;
                int itemResult;
                if (typeof(T) == typeof(ProvidedBuffer))
                {
                    var lease = Unsafe.As<T, ProvidedBuffer>(ref value);
                    ring.StoreLease(token, lease);
                    itemResult = lease.Length;
                }
                else
                {
                    itemResult = Unsafe.As<T, int>(ref value);
                }
                ring.Deliver(token, itemResult, (uint)ErrorKind.None | Completion.MoreFlag, null);
            }
        }
        catch (Exception e)
        {
            var (kind, errno) = LastError.Classify(e);
            ring.RememberMessage(token, e.Message);
            (result, status) = (-errno, kind);
        }
        ring.EndStream(token, cts);
        ring.Deliver(token, result, (uint)status, null);
    }
}
