namespace Uring;

// The multishot accept that pauses, instead of ending, when the process runs out of descriptors.
public sealed partial class Ring
{
    /// <summary>
    /// A multishot accept on <paramref name="listenFd"/> that keeps going when the process runs out
    /// of file descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): it pauses, retries after a
    /// back-off on a ring timeout (no thread and no descriptor needed), and goes on yielding
    /// connections once resources are free. Enumerate it like <see cref="AcceptMultishot"/>; the
    /// returned object also reports pauses (<see cref="ResilientAccept.Paused"/>,
    /// <see cref="ResilientAccept.Resumed"/>) and can retry at once (<see cref="ResilientAccept.RetryNow"/>).
    /// </summary>
    /// <param name="listenFd">A listening socket (a plain fd or a handle; not a registered file).</param>
    /// <param name="backoff">The wait between attempts while paused; null: 10 ms doubling to 250 ms.</param>
    /// <exception cref="ArgumentException"><paramref name="listenFd"/> is not a listening socket.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The back-off is not positive, or its maximum is below its initial wait.</exception>
    public ResilientAccept AcceptMultishotResilient(FileDescriptor listenFd, AcceptBackoff? backoff = null) =>
        new(this, listenFd, backoff);
}
