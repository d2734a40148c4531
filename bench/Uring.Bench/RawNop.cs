using System.Diagnostics;
using Uring.Bindings;

namespace Uring.Bench;

/// <summary>The C NOP loop transcribed onto the generated bindings alone: measures what the
/// bindings cost over C (function pointers, SuppressGCTransition where no syscall happens).</summary>
internal static unsafe class RawNop
{
    public static Measurement Run(int batch, long total)
    {
        io_uring ring;
        var ret = Liburing.io_uring_queue_init(256, &ring, Constants.IORING_SETUP_SINGLE_ISSUER | Constants.IORING_SETUP_DEFER_TASKRUN);
        if (ret < 0)
            throw new InvalidOperationException($"io_uring_queue_init: {ret}");
        try
        {
            var warm = Stopwatch.StartNew(); // see Warmup: about a second, so the JIT reaches its optimised tier
            for (var pass = 0; pass < 8 && (pass == 0 || warm.Elapsed.TotalSeconds < 1); pass++)
                Loop(&ring, batch, total / 10);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            var done = Loop(&ring, batch, total);
            var seconds = clock.Elapsed.TotalSeconds;
            var bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
            return new Measurement($"NOP, batch {batch}", "C# raw bindings", done, seconds, (double)bytes / done);
        }
        finally
        {
            Liburing.io_uring_queue_exit(&ring);
        }
    }

    private static long Loop(io_uring* ring, int batch, long goal)
    {
        long done;
        for (done = 0; done < goal; done += batch)
        {
            for (var i = 0; i < batch; i++)
            {
                var sqe = Liburing.io_uring_get_sqe(ring);
                Liburing.io_uring_prep_nop(sqe);
                Liburing.io_uring_sqe_set_data64(sqe, (ulong)(done + i));
            }
            var ret = Liburing.io_uring_submit_and_wait(ring, (uint)batch);
            if (ret < 0)
                throw new InvalidOperationException($"submit_and_wait: {ret}");
            uint seen = 0;
            io_uring_cqe* cqe;
            while (seen < batch && Liburing.__io_uring_peek_cqe(ring, &cqe, null) == 0 && cqe != null)
            {
                if (cqe->res < 0)
                    throw new InvalidOperationException($"nop failed: {cqe->res}");
                Liburing.io_uring_cq_advance(ring, 1);
                seen++;
            }
            if (seen != batch)
                throw new InvalidOperationException($"expected {batch} completions, got {seen}");
        }
        return done;
    }
}
