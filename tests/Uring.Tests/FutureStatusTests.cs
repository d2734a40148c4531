using Uring.Bindings;

namespace Uring.Tests;

/// <summary>What hosts without C#'s conveniences need from a future: a status that never throws
/// or consumes, a result method, and a non-generic view.</summary>
public sealed class FutureStatusTests : IDisposable
{
    private readonly Ring _ring = new(new RingOptions { Threading = RingThreading.CallerThread });

    public void Dispose() => _ring.Dispose();

    [Fact]
    public void Status_follows_the_operation_without_consuming_it()
    {
        var (r, w) = Native.Pipe();
        try
        {
            using var buffer = OwnershipMemory.Allocate(8);
            var read = _ring.Read(r, buffer);
            Assert.Equal(FutureStatus.Pending, read.Status);
            Native.WriteAll(w, "ok"u8.ToArray());
            Assert.True(read.Wait(TimeSpan.FromSeconds(10)));
            Assert.Equal(FutureStatus.Succeeded, read.Status);
            Assert.Equal(FutureStatus.Succeeded, read.Status); // reading it consumed nothing
            Assert.Equal(io_uring_op.IORING_OP_READ, read.Opcode);
            Assert.Equal(2, read.GetResult().BytesTransferred);
            Assert.Equal(FutureStatus.Consumed, read.Status);
            Assert.Throws<InvalidOperationException>(() => read.Opcode); // not another operation's opcode
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
    }

    [Fact]
    public void Faulted_and_cancelled_are_told_apart()
    {
        var failed = _ring.Close(Native.ClosedFd());
        Assert.True(failed.Wait(TimeSpan.FromSeconds(10)));
        Assert.Equal(FutureStatus.Faulted, failed.Status);
        Assert.Throws<UringIOException>(() => failed.GetResult());
        var (r, w) = Native.Pipe();
        try
        {
            var poll = _ring.PollAdd(r, PollEvents.In);
            _ring.RunOnce(TimeSpan.Zero);
            Assert.Equal(CancelOutcome.Cancelled, poll.Cancel().GetResult());
            Assert.True(poll.Wait(TimeSpan.FromSeconds(10)));
            Assert.Equal(FutureStatus.Canceled, poll.Status);
        }
        finally
        {
            Native.close(r);
            Native.close(w);
        }
        Assert.Equal(FutureStatus.Consumed, default(CancelableFuture<int>).Status);
    }

    [Fact]
    public void The_non_generic_view_waits_and_returns_the_boxed_result()
    {
        ICancelableFuture future = _ring.Nop();
        Assert.Equal(typeof(int), future.ResultType);
        Assert.Equal(io_uring_op.IORING_OP_NOP, future.Opcode);
        Assert.True(future.Wait(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, future.GetResult());
        Assert.Equal(FutureStatus.Consumed, future.Status);
    }
}
