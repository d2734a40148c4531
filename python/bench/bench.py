#!/usr/bin/env python3
"""Python-side benchmark of the uring package.

    python3 python/bench/bench.py [--seconds 0.5] [--repeat 5] [--file-mib 64]

Measures, on this machine:
  * runtime start-up (load .NET through libhostfxr, bind the entry points, create a ring);
  * NOP round trips one at a time (futures; the one-call blocking path), batched (one call
    submits N, completions reaped in batches), and through asyncio;
  * 4 KiB reads of a page-cached file at random offsets: os.pread (the bar), the ring one at a
    time (blocking path and futures), asyncio awaiting the ring, asyncio run_in_executor(os.pread),
    and 32 in flight (ring vs run_in_executor);
  * the same NOP and read round trips through uring.dotnet (Python.NET calling the C# façade
    itself), beside the ctypes route's rows (skipped with --no-dotnet or where Python.NET
    cannot load);
and prints ops/s, µs per operation (wall clock and CPU time) and the overhead per operation
against os.pread. Each figure is the median of --repeat runs of --seconds each.
"""

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

BLOCK = 4096


def measure(fn, seconds, repeat, ops_per_call=1, warmup=64):
    """(wall, cpu): median seconds per operation over `repeat` runs of about `seconds` each, by the
    wall clock and by the process's CPU time (user + system, all threads). On a shared machine the
    CPU time is the steadier measure of what an operation costs."""
    fn(warmup)  # warm up (and let the JIT tier up)
    calls = 64
    while True:  # calibrate
        t = time.perf_counter()
        fn(calls)
        dt = time.perf_counter() - t
        if dt > seconds / 4 or calls > 1 << 26:
            break
        calls *= 2
    calls = max(1, int(calls * seconds / max(dt, 1e-9)))
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn(calls)
        cpu.append((time.process_time() - c) / (calls * ops_per_call))
        wall.append((time.perf_counter() - t) / (calls * ops_per_call))
    return statistics.median(wall), statistics.median(cpu)


DOTNET_WARMUP = 50_000  # Python.NET runs its first ~40,000 calls of a method on unoptimised code


def load_dotnet():
    """The Python.NET side: a caller-thread and a dedicated-thread façade Ring, or None (and why)."""
    import types
    started = time.perf_counter()
    try:
        import uring.dotnet as dotnet
    except Exception as e:  # e.g. a Python older than Python.NET supports
        print(f"\n(Python.NET rows skipped: {e})")
        return None
    from Uring import OwnershipMemory, Ring, RingThreading
    startup = time.perf_counter() - started
    return types.SimpleNamespace(
        dotnet=dotnet, startup=startup, OwnershipMemory=OwnershipMemory,
        caller_ring=Ring(dotnet.options(Threading=RingThreading.CallerThread, Entries=256)),
        dedicated_ring=Ring(dotnet.options(Entries=256)))


def main():
    ap = argparse.ArgumentParser(description="uring Python benchmark")
    ap.add_argument("--seconds", type=float, default=0.4)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--file-mib", type=int, default=64)
    ap.add_argument("--no-dotnet", action="store_true", help="skip the Python.NET (uring.dotnet) rows")
    a = ap.parse_args()

    t0 = time.perf_counter()
    import uring
    from uring import _native
    _native.load()
    t1 = time.perf_counter()
    ring = uring.Ring(256)
    t2 = time.perf_counter()
    rows = []

    def row(name, wall, cpu, note=""):
        rows.append((name, wall, cpu, note))
        print(f"  {name:<52} {1 / wall:>11,.0f} ops/s {wall * 1e6:>8.2f} µs/op wall {cpu * 1e6:>8.2f} µs/op CPU  {note}", flush=True)

    startup = _native.load().startup
    print(f"start-up: {1e3 * (t1 - t0):.0f} ms (runtime {1e3 * startup['runtime']:.0f} ms, assemblies + entry points "
          f"{1e3 * startup['bind']:.0f} ms), first ring {1e3 * (t2 - t1):.1f} ms")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; each figure: median of {a.repeat} runs of ~{a.seconds} s\n")

    # ------------------------------------------------------------------ NOP
    print("NOP")

    def nop_future(n):
        nop = ring.nop
        for _ in range(n):
            nop().result()

    def nop_wait(n):
        w = ring.nop_wait
        for _ in range(n):
            w()

    row("nop().result(), one at a time", *measure(nop_future, a.seconds, a.repeat))
    row("nop_wait(), one at a time (one call)", *measure(nop_wait, a.seconds, a.repeat))
    for batch in (32, 256, 1024):
        def nop_batch(n, batch=batch):
            for _ in range(n):
                ring.nop_batch(batch).result()
        row(f"nop_batch({batch}).result()", *measure(nop_batch, a.seconds, a.repeat, batch))

    def nop_async(n):
        async def go():
            for _ in range(n):
                await ring.nop()
        asyncio.run(go())

    def nop_async_gather(n):
        async def go():
            for _ in range(n):
                await asyncio.gather(*[ring.nop() for _ in range(64)])
        asyncio.run(go())

    def nop_uring_gather(n):
        async def go():
            for _ in range(n):
                await uring.gather(*[ring.nop() for _ in range(64)])
        asyncio.run(go())

    row("asyncio: await ring.nop(), one at a time", *measure(nop_async, a.seconds, a.repeat))
    row("asyncio: asyncio.gather(64 x ring.nop())", *measure(nop_async_gather, a.seconds, a.repeat, 64))
    row("asyncio: uring.gather(64 x ring.nop())", *measure(nop_uring_gather, a.seconds, a.repeat, 64))

    net = None if a.no_dotnet else load_dotnet()
    if net is not None:
        print(f"\nNOP through Python.NET (uring.dotnet, the C# façade itself; start-up {1e3 * net.startup:.0f} ms; "
              f"each row first warms up with {DOTNET_WARMUP:,} calls)")
        d = net.dotnet

        def net_nop_result(n):
            nop = net.caller_ring.Nop
            for _ in range(n):
                nop().Result

        def net_nop_wait(n):
            nop, wait = net.caller_ring.Nop, d.wait
            for _ in range(n):
                wait(nop())

        def net_nop_dedicated(n):
            nop = net.dedicated_ring.Nop
            for _ in range(n):
                nop().Result

        def net_nop_async(n):
            async def go():
                nop, to_asyncio = net.dedicated_ring.Nop, d.to_asyncio
                for _ in range(n):
                    await to_asyncio(nop())
            asyncio.run(go())

        row("Python.NET: Nop().Result, caller-thread ring", *measure(net_nop_result, a.seconds, a.repeat, warmup=DOTNET_WARMUP))
        row("Python.NET: dotnet.wait(Nop()), caller-thread ring", *measure(net_nop_wait, a.seconds, a.repeat, warmup=DOTNET_WARMUP))
        row("Python.NET: Nop().Result, dedicated-thread ring", *measure(net_nop_dedicated, a.seconds, a.repeat, warmup=DOTNET_WARMUP))
        def net_nop_driver(n):
            async def go():
                with d.AsyncioDriver(net.caller_ring) as driver:
                    nop = net.caller_ring.Nop
                    for _ in range(n):
                        await driver(nop())
            asyncio.run(go())

        row("Python.NET: asyncio await AsyncioDriver(Nop()), caller ring", *measure(net_nop_driver, a.seconds, a.repeat, warmup=DOTNET_WARMUP))
        row("Python.NET: asyncio await to_asyncio(Nop()), dedicated ring", *measure(net_nop_async, a.seconds, a.repeat, warmup=5000))

    # ------------------------------------------------------------------ reads
    print(f"\n4 KiB reads, random offsets in a page-cached {a.file_mib} MiB file")
    fd_tmp, path = tempfile.mkstemp(prefix="uring-bench-")
    try:
        chunk = os.urandom(1 << 20)
        for _ in range(a.file_mib):
            os.write(fd_tmp, chunk)
        os.close(fd_tmp)
        fd = os.open(path, os.O_RDONLY)
        for off in range(0, a.file_mib << 20, 1 << 20):  # make sure it is cached
            os.pread(fd, 1 << 20, off)
        blocks = (a.file_mib << 20) // BLOCK
        rnd = random.Random(1)
        offsets = [rnd.randrange(blocks) * BLOCK for _ in range(1 << 16)]
        mask = len(offsets) - 1
        buf = uring.Buffer(BLOCK)
        bufs = [uring.Buffer(BLOCK) for _ in range(32)]

        def pread_os(n):
            p = os.pread
            for i in range(n):
                p(fd, BLOCK, offsets[i & mask])

        def pread_ring(n):
            p = ring.pread
            for i in range(n):
                p(fd, buf, offsets[i & mask])

        def read_future(n):
            r = ring.read
            for i in range(n):
                r(fd, buf, offsets[i & mask]).result()

        def read_async(n):
            async def go():
                r = ring.read
                for i in range(n):
                    await r(fd, buf, offsets[i & mask])
            asyncio.run(go())

        def executor_async(n):
            async def go():
                loop = asyncio.get_running_loop()
                for i in range(n):
                    await loop.run_in_executor(None, os.pread, fd, BLOCK, offsets[i & mask])
            asyncio.run(go())

        def ring_qd32(n):
            async def worker(k, count):
                r = ring.read
                b = bufs[k]
                for i in range(count):
                    await r(fd, b, offsets[(i * 32 + k) & mask])

            async def go():
                await asyncio.gather(*(worker(k, n) for k in range(32)))
            asyncio.run(go())

        def ring_qd32_gather(n):
            async def go():
                r = ring.read
                for i in range(n):
                    await uring.gather(*[r(fd, bufs[k], offsets[(i * 32 + k) & mask]) for k in range(32)])
            asyncio.run(go())

        def executor_qd32(n):
            async def worker(k, count):
                loop = asyncio.get_running_loop()
                for i in range(count):
                    await loop.run_in_executor(None, os.pread, fd, BLOCK, offsets[(i * 32 + k) & mask])

            async def go():
                await asyncio.gather(*(worker(k, n) for k in range(32)))
            asyncio.run(go())

        base_wall, base_cpu = measure(pread_os, a.seconds, a.repeat)
        row("os.pread (the bar)", base_wall, base_cpu)

        def with_overhead(name, fn, ops=1):
            wall, cpu = measure(fn, a.seconds, a.repeat, ops)
            row(name, wall, cpu, f"overhead vs os.pread {1e6 * (wall - base_wall):+.2f} µs wall, {1e6 * (cpu - base_cpu):+.2f} µs CPU")

        with_overhead("ring.pread(), one at a time (one call)", pread_ring)
        with_overhead("ring.read().result(), one at a time", read_future)
        with_overhead("asyncio: await ring.read(), one at a time", read_async)
        with_overhead("asyncio: run_in_executor(os.pread), one at a time", executor_async)
        with_overhead("asyncio: 32 in flight, ring.read()", ring_qd32, 32)
        with_overhead("asyncio: 32 in flight, uring.gather(32 x ring.read())", ring_qd32_gather, 32)
        with_overhead("asyncio: 32 in flight, run_in_executor(os.pread)", executor_qd32, 32)
        if net is not None:
            net_buf = net.OwnershipMemory.Allocate(BLOCK)
            net_fd = net.dotnet.fd(fd)

            def net_read_result(n):
                r = net.caller_ring.Read
                for i in range(n):
                    r(net_fd, net_buf, offsets[i & mask]).Result

            def net_read_wait(n):
                r, wait = net.caller_ring.Read, net.dotnet.wait
                for i in range(n):
                    wait(r(net_fd, net_buf, offsets[i & mask]))

            wall, cpu = measure(net_read_result, a.seconds, a.repeat, warmup=DOTNET_WARMUP)
            row("Python.NET: Read(...).Result, caller-thread ring", wall, cpu,
                f"overhead vs os.pread {1e6 * (wall - base_wall):+.2f} µs wall, {1e6 * (cpu - base_cpu):+.2f} µs CPU")
            wall, cpu = measure(net_read_wait, a.seconds, a.repeat, warmup=DOTNET_WARMUP)
            row("Python.NET: dotnet.wait(Read(...)), caller-thread ring", wall, cpu,
                f"overhead vs os.pread {1e6 * (wall - base_wall):+.2f} µs wall, {1e6 * (cpu - base_cpu):+.2f} µs CPU")

            def net_read_driver(n):
                async def go():
                    with net.dotnet.AsyncioDriver(net.caller_ring) as driver:
                        r = net.caller_ring.Read
                        for i in range(n):
                            await driver(r(net_fd, net_buf, offsets[i & mask]))
                asyncio.run(go())

            wall, cpu = measure(net_read_driver, a.seconds, a.repeat, warmup=DOTNET_WARMUP)
            row("Python.NET: asyncio await AsyncioDriver(Read(...))", wall, cpu,
                f"overhead vs os.pread {1e6 * (wall - base_wall):+.2f} µs wall, {1e6 * (cpu - base_cpu):+.2f} µs CPU")
            net_buf.Dispose()
        os.close(fd)
        buf.close()
        for b in bufs:
            b.close()
    finally:
        os.unlink(path)
    ring.close()
    if net is not None:
        net.caller_ring.Dispose()
        net.dedicated_ring.Dispose()

    by_name = {name: (wall, cpu) for name, wall, cpu, _ in rows}
    batched = max(1 / by_name[f"nop_batch({b}).result()"][0] for b in (32, 256, 1024))
    pread_overhead = by_name["ring.pread(), one at a time (one call)"][0] - by_name["os.pread (the bar)"][0]
    future_overhead = by_name["ring.read().result(), one at a time"][0] - by_name["os.pread (the bar)"][0]
    print("\ntargets (issue 5):")
    print(f"  batched NOPs >= 1 M ops/s: {batched / 1e6:.2f} M ops/s  {'met' if batched >= 1e6 else 'NOT met'}")
    print(f"  overhead <= 2 us per operation: ring.pread {pread_overhead * 1e6:+.2f} us  "
          f"{'met' if pread_overhead <= 2e-6 else 'NOT met'}; "
          f"ring.read().result() {future_overhead * 1e6:+.2f} us  {'met' if future_overhead <= 2e-6 else 'NOT met'}")
    return rows


if __name__ == "__main__":
    main()
