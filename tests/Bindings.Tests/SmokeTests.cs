using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Uring.Bindings.Tests.Infrastructure;

namespace Uring.Bindings.Tests;

/// <summary>
/// Real io_uring traffic through the raw generated bindings alone (<c>Liburing.*</c>, no façade):
/// NOPs, reads of a temporary file checked byte for byte, readv, an error result, and a long
/// loop mixing helpers that never enter the kernel with ones that do.
/// </summary>
public sealed unsafe class SmokeTests : IDisposable
{
    private const uint Entries = 64;
    private readonly io_uring* _ring;

    public SmokeTests()
    {
        _ring = (io_uring*)NativeMemory.AllocZeroed((nuint)sizeof(io_uring));
        var ret = Liburing.io_uring_queue_init(Entries, _ring, 0);
        if (ret < 0)
        {
            NativeMemory.Free(_ring);
            throw new InvalidOperationException($"io_uring_queue_init failed: {ret} ({Marshal.GetPInvokeErrorMessage(-ret)})");
        }
    }

    public void Dispose()
    {
        Liburing.io_uring_queue_exit(_ring);
        NativeMemory.Free(_ring);
    }

    [Fact]
    public void Nop_completes_with_its_user_data()
    {
        var sqe = Liburing.io_uring_get_sqe(_ring);
        Assert.True(sqe != null, "io_uring_get_sqe returned NULL on an empty ring");
        Liburing.io_uring_prep_nop(sqe);
        Assert.Equal((byte)io_uring_op.IORING_OP_NOP, sqe->opcode);
        Liburing.io_uring_sqe_set_data64(sqe, 0xDEAD_BEEF_CAFE_F00D);
        Assert.Equal(0xDEAD_BEEF_CAFE_F00DUL, sqe->user_data);

        Assert.Equal(1, Liburing.io_uring_submit_and_wait(_ring, 1));
        io_uring_cqe* cqe = null;
        Assert.Equal(0, Liburing.io_uring_peek_cqe(_ring, &cqe));
        Assert.True(cqe != null);
        Assert.Equal(0xDEAD_BEEF_CAFE_F00DUL, cqe->user_data);
        Assert.Equal(0, cqe->res);
        Liburing.io_uring_cqe_seen(_ring, cqe);

        // The completion queue is empty again: peek reports -EAGAIN.
        cqe = null;
        Assert.Equal(-11, Liburing.io_uring_peek_cqe(_ring, &cqe));
    }

    [Fact]
    public void Read_returns_the_file_bytes()
    {
        using var file = new TempFile(64 * 1024 + 123);
        using var handle = File.OpenHandle(file.Path);
        var fd = Fd(handle);
        var length = file.Bytes.Length;
        var buffer = (byte*)NativeMemory.AllocZeroed((nuint)length);
        try
        {
            var sqe = Liburing.io_uring_get_sqe(_ring);
            Liburing.io_uring_prep_read(sqe, fd, buffer, (uint)length, 0);
            Liburing.io_uring_sqe_set_data64(sqe, 7);
            var (data, res) = SubmitAndReap();
            Assert.Equal(7UL, data);
            Assert.Equal(length, res);
            AssertSameBytes(file.Bytes, new ReadOnlySpan<byte>(buffer, length));
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    [Fact]
    public void Read_at_an_offset_returns_that_slice()
    {
        using var file = new TempFile(20_000);
        using var handle = File.OpenHandle(file.Path);
        const int offset = 12_345, count = 4_000;
        var buffer = (byte*)NativeMemory.AllocZeroed(count);
        try
        {
            var sqe = Liburing.io_uring_get_sqe(_ring);
            Liburing.io_uring_prep_read(sqe, Fd(handle), buffer, count, offset);
            Liburing.io_uring_sqe_set_data64(sqe, 8);
            var (data, res) = SubmitAndReap();
            Assert.Equal(8UL, data);
            Assert.Equal(count, res);
            AssertSameBytes(file.Bytes.AsSpan(offset, count), new ReadOnlySpan<byte>(buffer, count));
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    [Fact]
    public void Readv_scatters_into_two_iovecs()
    {
        using var file = new TempFile(10_000);
        using var handle = File.OpenHandle(file.Path);
        const int offset = 777, first = 1_000, second = 3_000;
        var a = (byte*)NativeMemory.AllocZeroed(first);
        var b = (byte*)NativeMemory.AllocZeroed(second);
        var iovs = (iovec*)NativeMemory.AllocZeroed((nuint)(2 * sizeof(iovec)));
        try
        {
            iovs[0].iov_base = a;
            iovs[0].iov_len = (nuint)first;
            iovs[1].iov_base = b;
            iovs[1].iov_len = (nuint)second;
            var sqe = Liburing.io_uring_get_sqe(_ring);
            Liburing.io_uring_prep_readv(sqe, Fd(handle), iovs, 2, offset);
            Liburing.io_uring_sqe_set_data64(sqe, 9);
            var (data, res) = SubmitAndReap();
            Assert.Equal(9UL, data);
            Assert.Equal(first + second, res);
            AssertSameBytes(file.Bytes.AsSpan(offset, first), new ReadOnlySpan<byte>(a, first));
            AssertSameBytes(file.Bytes.AsSpan(offset + first, second), new ReadOnlySpan<byte>(b, second));
        }
        finally
        {
            NativeMemory.Free(a);
            NativeMemory.Free(b);
            NativeMemory.Free(iovs);
        }
    }

    [Fact]
    public void A_failed_read_reports_negative_errno()
    {
        byte one;
        var sqe = Liburing.io_uring_get_sqe(_ring);
        Liburing.io_uring_prep_read(sqe, -1, &one, 1, 0);
        Liburing.io_uring_sqe_set_data64(sqe, 10);
        var (data, res) = SubmitAndReap();
        Assert.Equal(10UL, data);
        Assert.Equal(-9, res); // -EBADF
    }

    [Fact]
    public void Ten_thousand_nop_batches_mix_gc_suppressed_and_syscall_helpers()
    {
        // get_sqe, prep_nop, set_data64 and cqe_seen never enter the kernel (eligible for
        // SuppressGCTransition); submit_and_wait and peek_cqe may. A thread forcing collections
        // meanwhile makes the runtime suspend this one in and around both kinds of calls.
        var model = TestModel.Current.Functions.ToDictionary(f => f.Name);
        Assert.False(model["io_uring_prep_nop"].MayEnterKernel);
        Assert.False(model["io_uring_cqe_seen"].MayEnterKernel);
        Assert.True(model["io_uring_submit_and_wait"].MayEnterKernel);

        const int Batches = 10_000, Batch = 32;
        using var stop = new CancellationTokenSource();
        var collections = 0;
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                collections++;
                Thread.Sleep(1);
            }
        }) { IsBackground = true };
        collector.Start();
        try
        {
            var seen = new bool[Batch];
            for (var i = 0; i < Batches; i++)
            {
                for (var k = 0; k < Batch; k++)
                {
                    var sqe = Liburing.io_uring_get_sqe(_ring);
                    Assert.True(sqe != null, $"batch {i}: io_uring_get_sqe returned NULL at {k}");
                    Liburing.io_uring_prep_nop(sqe);
                    Liburing.io_uring_sqe_set_data64(sqe, ((ulong)(uint)i << 8) | (uint)k);
                }
                var submitted = Liburing.io_uring_submit_and_wait(_ring, Batch);
                if (submitted != Batch)
                    Assert.Fail($"batch {i}: io_uring_submit_and_wait returned {submitted}");
                Array.Clear(seen);
                for (var k = 0; k < Batch; k++)
                {
                    io_uring_cqe* cqe = null;
                    var ret = Liburing.io_uring_peek_cqe(_ring, &cqe);
                    if (ret != 0 || cqe == null || cqe->res != 0 || (cqe->user_data >> 8) != (ulong)i || seen[cqe->user_data & 0xFF])
                        Assert.Fail($"batch {i}, cqe {k}: peek={ret}, user_data={(cqe == null ? "null" : $"0x{cqe->user_data:x}")}, res={(cqe == null ? 0 : cqe->res)}");
                    seen[cqe->user_data & 0xFF] = true;
                    Liburing.io_uring_cqe_seen(_ring, cqe);
                }
            }
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
        Assert.True(collections > 0);
    }

    private (ulong UserData, int Res) SubmitAndReap()
    {
        var submitted = Liburing.io_uring_submit_and_wait(_ring, 1);
        Assert.Equal(1, submitted);
        io_uring_cqe* cqe = null;
        Assert.Equal(0, Liburing.io_uring_peek_cqe(_ring, &cqe));
        Assert.True(cqe != null);
        var result = (cqe->user_data, cqe->res);
        Liburing.io_uring_cqe_seen(_ring, cqe);
        return result;
    }

    private static int Fd(SafeFileHandle handle) => (int)handle.DangerousGetHandle();

    private static void AssertSameBytes(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var mismatch = expected.CommonPrefixLength(actual);
        Assert.True(mismatch == expected.Length, $"first differing byte at {mismatch} of {expected.Length}");
    }

    private sealed class TempFile : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"uring-bindings-{Guid.NewGuid():N}.bin");
        public byte[] Bytes { get; }

        public TempFile(int length)
        {
            Bytes = new byte[length];
            Random.Shared.NextBytes(Bytes);
            File.WriteAllBytes(Path, Bytes);
        }

        public void Dispose() => File.Delete(Path);
    }
}
