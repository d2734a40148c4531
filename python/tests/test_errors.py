"""Typed errors: OSError subclasses carrying errno."""

import errno
import os
import subprocess
import sys
import threading
import unittest

from support import RingTestCase, uring


class ErrorTests(RingTestCase):
    def test_bad_fd(self):
        r, w = os.pipe()
        os.close(r)
        os.close(w)
        with uring.Buffer(8) as buf:
            with self.assertRaises(uring.UringIOError) as cm:
                self.ring.read(r, buf, 0).result(5)
            e = cm.exception
            self.assertIsInstance(e, OSError)
            self.assertEqual(e.errno, errno.EBADF)
            self.assertEqual(e.opcode, "READ")
            self.assertIn("EBADF", str(e))
            self.assertEqual(buf.state, "user")  # back after the failed CQE

    def test_negative_fd(self):
        with self.assertRaises(uring.UringArgumentError) as cm:
            self.ring.close_fd(-5)
        self.assertEqual(cm.exception.errno, errno.EINVAL)

    def test_missing_file(self):
        with self.assertRaises(uring.UringIOError) as cm:
            self.ring.openat("/nonexistent/uring-test").result(5)
        self.assertEqual(cm.exception.errno, errno.ENOENT)

    def test_missing_liburing_names_the_cause(self):
        # The bindings find liburing-ffi.so.2 in a static constructor; its failure must reach
        # Python as the cause, not as "a type initializer threw an exception".
        script = ("import uring\n"
                  "try:\n    uring.Ring(8)\n"
                  "except uring.UringError as e:\n    print(type(e).__name__, e)\n")
        env = dict(os.environ, URING_LIBURING_PATH="/nonexistent/liburing-ffi.so.2",
                   PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(uring.__file__))))
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("/nonexistent/liburing-ffi.so.2 could not be loaded", out.stdout)
        self.assertNotIn("type initializer", out.stdout)

    def test_closed_ring(self):
        ring = uring.Ring(8)
        ring.close()
        ring.close()  # idempotent
        for action in (ring.nop, lambda: ring.timeout(1), ring.submit, lambda: ring.nop_batch(4)):
            with self.assertRaises(uring.RingClosedError) as cm:
                action()
            self.assertEqual(cm.exception.errno, errno.EBADF)

    def test_other_thread(self):
        errors = []

        def use():
            try:
                self.ring.nop()
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        t = threading.Thread(target=use)
        t.start()
        t.join()
        self.assertEqual(len(errors), 1)
        self.assertIsInstance(errors[0], uring.UringStateError)

    def test_ring_per_thread(self):
        results = []

        def work():
            with uring.Ring(8) as ring:
                results.append(ring.nop_batch(100).result(5))

        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [100, 100, 100])

    def test_bad_address(self):
        fd = self.ring.socket().result(5)
        with self.assertRaises(uring.UringArgumentError):
            self.ring.connect(fd, ("not-an-ip", 80))
        self.ring.close_fd(fd).result(5)

    def test_values_that_do_not_fit_the_abi(self):
        with uring.Buffer(16) as buf:
            with self.assertRaises(OverflowError):
                self.ring.read(2 ** 32 + 3, buf)  # never silently fd 3
            with self.assertRaises(uring.UringArgumentError):
                self.ring.read(0, buf, 0, length=2 ** 32 + 5)
            with self.assertRaises(uring.UringArgumentError):
                self.ring.read(0, buf, 0, length=-2)

    def test_token_wrap_around(self):
        import itertools
        self.ring._tokens = itertools.count(2 ** 31 - 3)
        blocker = self.ring.timeout(30)  # token 2**31 - 3, stays in flight
        futs = [self.ring.nop() for _ in range(5)]  # wraps past 2**31 to 1, 2, 3...
        self.assertEqual(self.ring.wait(futs, 5), [0] * 5)
        self.ring._tokens = itertools.count(1)
        in_flight = self.ring.timeout(30)  # token 1
        self.assertEqual(self.ring.nop_batch(10).result(5), 10)  # skips token 1
        self.assertEqual(self.ring.nop().result(5), 0)
        for f in (blocker, in_flight):
            f.cancel().result(5)

    def test_hierarchy(self):
        for cls in (uring.UringIOError, uring.BufferBusyError, uring.RingClosedError, uring.OpcodeNotSupportedError,
                    uring.UringArgumentError, uring.OperationCancelledError, uring.OperationTimeoutError,
                    uring.BufferReleasedError, uring.UringStateError):
            self.assertTrue(issubclass(cls, uring.UringError))
            self.assertTrue(issubclass(cls, OSError))


if __name__ == "__main__":
    unittest.main()
