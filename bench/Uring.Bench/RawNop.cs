using Uring.Bindings;

namespace Uring.Bench;

/// <summary>The C NOP loop transcribed onto the generated bindings alone: measures what the
/// bindings cost over C (function pointers, SuppressGCTransition where no syscall happens).</summary>
internal sealed unsafe class RawNop : INopCase
{
    private readonly io_uring* _ring;
    private readonly int _batch;

    public RawNop(int batch)
    {
        _batch = batch;
        _ring = RawRing.Create();
    }

    public long Run(long goal)
    {
        var ring = _ring;
        var batch = _batch;
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

    public void Dispose() => RawRing.Destroy(_ring);
}
