using Uring.Bindings;

namespace Uring.Tests;

/// <summary>Each kind of bad input ends in a typed exception with a useful message.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly Ring _ring = new();
    private readonly TestFiles _files = new();

    public void Dispose()
    {
        _ring.Dispose();
        _files.Dispose();
    }

    [Fact]
    public void Negative_fd_is_rejected_before_submission()
    {
        using var m = OwnershipMemory.Allocate(16);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _ring.Read(-5, m));
        Assert.Equal("fd", e.ParamName);
        Assert.Contains("negative", e.Message);
        Assert.Equal(OwnershipState.User, m.State); // ownership was not taken
        Assert.Throws<ArgumentOutOfRangeException>(() => _ring.Fsync(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ring.Read(0, m, offset: -2));
    }

    [Fact]
    public async Task Closed_fd_is_EBADF_with_the_opcode()
    {
        var closed = Native.ClosedFd();
        using var pool = new OwnershipMemoryPool(16);
        var e = await Assert.ThrowsAsync<UringIOException>(async () => await _ring.Write(closed, pool.Rent()));
        Assert.Equal(9, e.Errno);
        Assert.Equal(io_uring_op.IORING_OP_WRITE, e.Opcode);
        Assert.Contains("EBADF", e.Message);
        Assert.IsAssignableFrom<IOException>(e);
        Assert.Equal(1, pool.ReturnCount); // released after the CQE
    }

    [Fact]
    public void Buffer_too_small_is_rejected()
    {
        using var m = OwnershipMemory.Allocate(16);
        var e = Assert.Throws<ArgumentException>(() => _ring.Read(0, m, 0, 17));
        Assert.Contains("too small", e.Message);
        Assert.Equal(OwnershipState.User, m.State);
        Assert.Throws<ArgumentException>(() => _ring.ReadV(0, Array.Empty<OwnershipMemory>()));
        Assert.Throws<ArgumentException>(() => _ring.ReadV(0, new[] { m, m }));
    }

    [Fact]
    public void Operation_on_a_disposed_ring_is_RingDisposedException()
    {
        var ring = new Ring();
        ring.Dispose();
        ring.Dispose(); // idempotent, as IDisposable requires
        var e = Assert.Throws<RingDisposedException>(() => ring.Nop());
        Assert.Contains("IORING_OP_NOP", e.Message);
        Assert.IsAssignableFrom<ObjectDisposedException>(e);
        using var m = OwnershipMemory.Allocate(8);
        Assert.Throws<RingDisposedException>(() => ring.Read(0, m));
        Assert.Equal(OwnershipState.User, m.State);
        Assert.Throws<RingDisposedException>(() => ring.CreateChain());
    }

    [Fact]
    public unsafe void Opcode_the_kernel_lacks_is_NotSupportedException_naming_it()
    {
        var missing = Enum.GetValues<io_uring_op>().Where(o => o != io_uring_op.IORING_OP_LAST && !_ring.IsSupported(o)).ToArray();
        if (missing.Length == 0)
            return; // every opcode is supported here; nothing to show (reported by `uring probe`)
        var e = Assert.Throws<OpcodeNotSupportedException>(() => _ring.CheckCanStart(missing[0]));
        Assert.Equal(missing[0], e.Opcode);
        Assert.Contains(missing[0].ToString(), e.Message);
        Assert.Contains(Ring.KernelRelease, e.Message);
        Assert.IsAssignableFrom<NotSupportedException>(e);
    }

    [Fact]
    public void Bad_ring_options_are_UringIOException()
    {
        var e = Assert.Throws<UringIOException>(() => new Ring(new RingOptions { Entries = 0 }));
        Assert.Equal(22, e.Errno);
        Assert.Contains("io_uring_queue_init_params", e.Message);
    }

    [Fact]
    public void Bad_arguments_of_other_operations()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ring.Timeout(TimeSpan.FromSeconds(-1)));
        Assert.Throws<ArgumentException>(() => _ring.OpenAt(Ring.CurrentDirectory, "a\0b", 0));
        Assert.Throws<ArgumentNullException>(() => _ring.Statx(Ring.CurrentDirectory, null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ring.Fallocate(0, 0, 0));
        using var chain = _ring.CreateChain();
        Assert.Throws<InvalidOperationException>(() => chain.LinkTimeout(TimeSpan.FromSeconds(1)));
        Assert.Throws<InvalidOperationException>(() => chain.Submit());
    }

    [Fact]
    public void Consumed_future_cannot_be_read_twice()
    {
        var f = _ring.Nop();
        Assert.Equal(0, f.Result);
        Assert.Throws<InvalidOperationException>(() => f.Result);
        Assert.Throws<InvalidOperationException>(() => default(CancelableFuture<int>).Result);
    }

    [Fact]
    public async Task An_operation_the_facade_cannot_prepare_fails_alone_and_the_ring_keeps_working()
    {
        var broken = StartUnpreparable(_ring);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await broken);
        Assert.Contains("IORING_OP_FADVISE", e.Message);
        Assert.Equal(0, await _ring.Nop());
        Assert.Equal(0, _ring.InFlight);
    }

    [Fact]
    public async Task A_chain_member_the_facade_cannot_prepare_fails_alone_and_the_rest_of_the_chain_runs()
    {
        foreach (var failing in new[] { 0, 1, 2 })
        {
            var members = new Operation<int>[3];
            for (var i = 0; i < 3; i++)
                members[i] = i == failing ? UnpreparableOperation.Rent(_ring, io_uring_op.IORING_OP_FADVISE) : NopOperation.Create(_ring);
            var futures = members.Select(m => new CancelableFuture<int>(m, m.Version)).ToArray();
            for (var i = 0; i < 3; i++)
            {
                members[i].InChain = true;
                if (i < 2)
                {
                    members[i].SqeFlags |= (byte)Constants.IOSQE_IO_LINK;
                    members[i].NextInChain = members[i + 1];
                }
            }
            members[0].ChainLength = 3;
            _ring.StartChain(members);
            for (var i = 0; i < 3; i++)
            {
                if (i == failing)
                    Assert.Contains("IORING_OP_FADVISE", (await Assert.ThrowsAsync<InvalidOperationException>(async () => await futures[i])).Message);
                else
                    Assert.Equal(0, await futures[i]); // the failed member's SQE became a NOP that keeps the link
            }
            Assert.Equal(0, await _ring.Nop());
            Assert.Equal(0, _ring.InFlight);
        }
    }

    private static CancelableFuture<int> StartUnpreparable(Ring ring) =>
        ring.Start(UnpreparableOperation.Rent(ring, io_uring_op.IORING_OP_FADVISE), default);

    /// <summary>An operation kind whose SQE preparation throws (as a bug in a kind would).</summary>
    private sealed unsafe class UnpreparableOperation : PooledOperation<UnpreparableOperation, int>
    {
        internal override void Prepare(io_uring_sqe* sqe) => throw new InvalidOperationException($"The façade cannot prepare {Opcode}.");

        protected override int Produce() => Res;

        protected override void ClearFields()
        {
        }
    }
}
