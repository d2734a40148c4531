using System.IO.Pipelines;

namespace Uring.AspNetCore;

/// <summary>
/// Runs the send loops of a ring's connections once per loop turn instead of at every flush.
/// Kestrel flushes after each response; inline, every flush would wake the connection's send loop
/// and submit a send of that one response. Scheduled here from the ring's thread, the send loops
/// run together after the current batch of completions has been handled (one IORING_OP_NOP hops
/// back to the loop), so the responses to pipelined requests, or to several reads handled in the
/// same turn, leave in one send per connection. Flushes from other threads (the application on the
/// thread pool) are gathered the same way: the first one wakes the loop, the sends are prepared
/// there.
/// </summary>
internal sealed class RingSendScheduler : PipeScheduler
{
    private readonly Ring _ring;
    private readonly object _gate = new();
    private readonly Action _drain;
    private List<(Action<object?> Action, object? State)> _queued = new(64);
    private List<(Action<object?> Action, object? State)> _running = new(64);
    private bool _posted;

    public RingSendScheduler(Ring ring)
    {
        _ring = ring;
        _drain = Drain;
    }

    public override void Schedule(Action<object?> action, object? state)
    {
        bool post;
        lock (_gate)
        {
            _queued.Add((action, state));
            post = !_posted;
            _posted = true;
        }
        if (post)
            _ring.SwitchToOwnerThread().GetAwaiter().UnsafeOnCompleted(_drain);
    }

    private void Drain()
    {
        List<(Action<object?> Action, object? State)> batch;
        lock (_gate)
        {
            batch = _queued;
            _queued = _running;
            _running = batch;
            _posted = false;
        }
        foreach (var (action, state) in batch)
            action(state);
        batch.Clear();
    }
}
