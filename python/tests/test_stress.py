"""Mixed operations with random cancels, a ring closed in the middle: no lost completion, no
corruption, file descriptors and native memory back where they started."""

import gc
import os
import random
import tempfile
import unittest

from support import require_io_uring, uring


def open_fds():
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # the listing's own directory fd
        if not target.endswith(".dll"):  # the runtime opens framework assemblies when first needed
            fds[int(name)] = target
    return fds


class StressTests(unittest.TestCase):
    def setUp(self):
        require_io_uring(self)

    def test_mixed_operations_random_cancels_and_close(self):
        rnd = random.Random(5)
        data = bytes(rnd.randrange(256) for _ in range(64 * 1024))
        uring.Ring(8).close()  # runtime loaded, pools warm
        gc.collect()
        fds_before, (_, allocations_before) = open_fds(), uring.native_memory()
        fd_file, path = tempfile.mkstemp(prefix="uring-stress-")
        os.write(fd_file, data)
        r, w = os.pipe()
        try:
            ring = uring.Ring(64)
            buffers = [uring.Buffer(4096) for _ in range(32)]
            idle = list(range(32))
            in_flight = {}  # future -> (kind, buffer index, offset)
            counts = {"ok": 0, "cancelled": 0, "timeouts": 0}
            for step in range(20000):
                choice = rnd.random()
                if choice < 0.4:
                    in_flight[ring.nop()] = ("nop", None, None)
                elif choice < 0.75 and idle:
                    i = idle.pop()
                    off = rnd.randrange(16) * 4096
                    in_flight[ring.read(fd_file, buffers[i], off)] = ("read", i, off)
                elif choice < 0.85 and idle:
                    i = idle.pop()  # a pipe read: completes only if cancelled (or the ring closes)
                    in_flight[ring.read(r, buffers[i])] = ("pipe", i, None)
                else:
                    in_flight[ring.timeout(rnd.random() * 0.002)] = ("timeout", None, None)
                if rnd.random() < 0.1 and in_flight:
                    victim = rnd.choice(list(in_flight))
                    if not victim.done():
                        victim.cancel()
                if step % 16 == 0:
                    ring.poll(0.001)
                for fut in [f for f in in_flight if f.done()]:
                    kind, i, off = in_flight.pop(fut)
                    err = fut.exception()
                    if err is None:
                        counts["ok"] += 1
                        if kind == "read":
                            n = fut.result()
                            self.assertEqual(buffers[i].bytes(n), data[off:off + n])
                    elif isinstance(err, uring.OperationCancelledError):
                        counts["cancelled"] += 1
                    else:
                        self.fail(f"{kind}: {err!r}")
                    if i is not None:
                        self.assertEqual(buffers[i].state, "user")
                        idle.append(i)
                if step == 12000:
                    pending = list(in_flight)
                    ring.close()  # with operations in flight
                    for fut in pending:
                        self.assertTrue(fut.done())
                        kind, i, _ = in_flight.pop(fut)
                        if i is not None:
                            self.assertEqual(buffers[i].state, "user")
                            idle.append(i)
                    ring = uring.Ring(64)
            for fut in list(in_flight):
                fut.cancel()
            ring.close()
            for fut, (kind, i, _) in in_flight.items():
                self.assertTrue(fut.done())
                if i is not None:
                    self.assertEqual(buffers[i].state, "user")
            for b in buffers:
                b.close()
            self.assertGreater(counts["ok"], 1000)
            self.assertGreater(counts["cancelled"], 10)
        finally:
            os.close(r)
            os.close(w)
            os.close(fd_file)
            os.unlink(path)
        del ring
        gc.collect()
        self.maxDiff = None
        self.assertEqual(open_fds(), fds_before)
        self.assertEqual(uring.native_memory()[1], allocations_before)


if __name__ == "__main__":
    unittest.main()
