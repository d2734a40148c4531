"""A process that exits with operations in flight exits cleanly: status 0, no hang."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import unittest

from support import PYTHON_DIR, require_io_uring

PRELUDE = "import os, sys, asyncio, threading, uring\n"


def run(script, timeout=30):
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(script)], env=env,
                          capture_output=True, timeout=timeout, text=True)
    return proc, time.monotonic() - started


class ExitTests(unittest.TestCase):
    def setUp(self):
        require_io_uring(self)

    def check(self, script, expect_out=None):
        proc, elapsed = run(script)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr.strip(), "")
        self.assertLess(elapsed, 15)
        if expect_out is not None:
            self.assertEqual(proc.stdout.strip(), expect_out)

    def test_script_ends_with_reads_and_timeouts_in_flight(self):
        self.check("""
            r, w = os.pipe()
            ring = uring.Ring()
            bufs = [uring.Buffer(64) for _ in range(8)]
            futs = [ring.read(r, b) for b in bufs]
            t = ring.timeout(100)
            ring.submit()
            print("in flight", ring.in_flight)
        """, "in flight 9")

    def test_asyncio_exits_with_pending_operations(self):
        self.check("""
            async def main():
                r, w = os.pipe()
                ring = uring.Ring()
                buf = uring.Buffer(64)
                asyncio.ensure_future(ring.read(r, buf))
                asyncio.ensure_future(ring.sleep(100))
                await asyncio.sleep(0.05)
                print("exiting")
                sys.exit(0)
            asyncio.run(main())
        """, "exiting")

    def test_ring_owned_by_another_thread(self):
        self.check("""
            r, w = os.pipe()
            def work():
                global ring, buf
                ring = uring.Ring()
                buf = uring.Buffer(16)
                ring.read(r, buf)
                ring.submit()
            t = threading.Thread(target=work)
            t.start(); t.join()
            print("done")
        """, "done")

    def test_unclosed_buffers_and_rings_are_garbage(self):
        self.check("""
            for _ in range(20):
                ring = uring.Ring(8)
                ring.nop_batch(10).result(5)
                b = uring.Buffer(4096)
                del ring, b
            print(uring.native_memory()[1] < 10)
        """, "True")

    def test_ctrl_c_interrupts_a_blocking_wait(self):
        # The .NET runtime's own SIGINT handler restarts the kernel wait; result() waits in
        # slices so that Python still sees the KeyboardInterrupt.
        env = dict(os.environ, PYTHONPATH=PYTHON_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
        script = PRELUDE + textwrap.dedent("""
            r, w = os.pipe()
            ring = uring.Ring()
            buf = uring.Buffer(16)
            fut = ring.read(r, buf)
            print("waiting", flush=True)
            try:
                fut.result()
            except KeyboardInterrupt:
                print("interrupted", flush=True)
                os._exit(0)
        """)
        proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertEqual(proc.stdout.readline().strip(), "waiting")
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(out.strip(), "interrupted")


if __name__ == "__main__":
    unittest.main()
