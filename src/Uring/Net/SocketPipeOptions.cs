using System.IO.Pipelines;

namespace Uring;

/// <summary>How a <see cref="SocketPipe"/> receives, sends, buffers and closes.</summary>
public sealed class SocketPipeOptions
{
    /// <summary>
    /// The pipe of received data. Its <see cref="PipeOptions.PauseWriterThreshold"/> bounds how much
    /// received data waits for the reader: above it no receive is posted, the kernel's socket buffer
    /// fills and TCP flow control slows the peer. Default: blocks of <see cref="PinnedBlockPool.Default"/>,
    /// pause at 64 KiB, resume at 32 KiB, continuations inline (on the ring's loop thread).
    /// </summary>
    public PipeOptions? InputOptions { get; set; }

    /// <summary>
    /// The pipe of data to send. Its <see cref="PipeOptions.PauseWriterThreshold"/> bounds how much
    /// written data may wait to be sent before the writer's FlushAsync waits. Same defaults as
    /// <see cref="InputOptions"/>.
    /// </summary>
    public PipeOptions? OutputOptions { get; set; }

    /// <summary>
    /// Receive with buffer select from this provided buffer ring (one receive at a time, data copied
    /// into the input pipe): an idle connection then holds no memory at all. Null (the default):
    /// receive straight into the input pipe's memory (no copy; an idle connection holds one block).
    /// </summary>
    public BufferRing? ReceiveBuffers { get; set; }

    /// <summary>The least room a receive asks the input pipe for (without <see cref="ReceiveBuffers"/>). Default 4096.</summary>
    public int MinimumReceiveSize { get; set; } = 4096;

    /// <summary>Close the socket when the pipe is done with it (default true). A registered file is never closed.</summary>
    public bool OwnsSocket { get; set; } = true;

    /// <summary>
    /// How long <see cref="SocketPipe.DisposeAsync"/> lets data already written to the output be
    /// sent before it cancels the send. Default 5 s.
    /// </summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    internal static PipeOptions DefaultPipeOptions { get; } = new(
        pool: PinnedBlockPool.Default,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 64 * 1024,
        resumeWriterThreshold: 32 * 1024,
        minimumSegmentSize: PinnedBlockPool.DefaultBlockSize,
        useSynchronizationContext: false);
}
