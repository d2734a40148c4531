using System.IO.Pipelines;

namespace Uring.AspNetCore;

/// <summary>The transport's rings, each with its loop thread and, optionally, its provided buffer ring.</summary>
internal sealed class RingGroup : IDisposable
{
    private readonly Ring[] _rings;
    private readonly BufferRing?[] _buffers;
    private readonly RingSendScheduler[] _sendSchedulers;

    public RingGroup(UringTransportOptions options)
    {
        _rings = new Ring[options.RingCount];
        _buffers = new BufferRing?[options.RingCount];
        _sendSchedulers = new RingSendScheduler[options.RingCount];
        try
        {
            for (var i = 0; i < _rings.Length; i++)
            {
                _rings[i] = new Ring(new RingOptions
                {
                    Entries = options.RingEntries,
                    CompletionQueueEntries = Math.Max(8192, options.RingEntries * 2),
                    ThreadName = $"io_uring kestrel {i}",
                });
                _sendSchedulers[i] = new RingSendScheduler(_rings[i]);
                if (options.UseProvidedBuffers)
                    _buffers[i] = _rings[i].CreateBufferRing(options.ProvidedBufferCount, options.ProvidedBufferSize);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Count => _rings.Length;

    public Ring this[int index] => _rings[index];

    public BufferRing? BuffersOf(int index) => _buffers[index];

    public PipeScheduler SendSchedulerOf(int index) => _sendSchedulers[index];

    /// <summary>Disposes every ring (cancelling what is still in flight), then their buffer rings.</summary>
    public void Dispose()
    {
        foreach (var ring in _rings)
            ring?.Dispose();
        foreach (var buffers in _buffers)
            buffers?.Dispose();
    }
}
