"""Cancellation: a real kernel cancel; the buffer comes back only with the kernel's CQE."""

import os
import unittest

from support import RingTestCase, uring


class CancelTests(RingTestCase):
    def test_cancel_pending_pipe_read(self):
        r, w = self.pipe()
        buf = uring.Buffer(64)
        buf.write(b"canary" * 10)
        fut = self.ring.read(r, buf)
        self.ring.submit()
        self.assertFalse(fut.done())

        cancel = fut.cancel()
        # The cancel is only prepared; no CQE was reaped yet: the kernel still owns the buffer.
        self.assertFalse(fut.done())
        self.assertTrue(buf.kernel_owned)
        with self.assertRaises(uring.BufferBusyError):
            buf.bytes()

        self.assertEqual(cancel.result(5), uring.CancelOutcome.CANCELLED)
        with self.assertRaises(uring.OperationCancelledError) as cm:
            fut.result(5)
        self.assertEqual(cm.exception.errno, 125)  # ECANCELED
        self.assertTrue(fut.cancelled())
        # The CQE arrived: the buffer is the program's again, untouched.
        self.assertEqual(buf.state, "user")
        self.assertEqual(buf.bytes(60), b"canary" * 10)

        # Data written afterwards never lands in that memory.
        os.write(w, b"late data")
        self.assertEqual(os.read(r, 100), b"late data")
        self.assertEqual(buf.bytes(60), b"canary" * 10)
        # ...and the buffer is usable again.
        os.write(w, b"again")
        self.assertEqual(self.ring.read(r, buf).result(5), 5)
        self.assertEqual(buf.bytes(5), b"again")
        buf.close()

    def test_cancel_completed_operation(self):
        fut = self.ring.nop()
        fut.result(5)
        self.assertEqual(fut.cancel().result(5), uring.CancelOutcome.ALREADY_COMPLETED)

    def test_cancel_completed_but_not_reaped(self):
        fut = self.ring.nop()
        self.ring.submit()  # completed, dispatched
        outcome = fut.cancel().result(5)
        self.assertEqual(outcome, uring.CancelOutcome.ALREADY_COMPLETED)
        self.assertEqual(fut.result(), 0)

    def test_cancel_timeout(self):
        fut = self.ring.timeout(30)
        self.ring.submit()
        self.assertEqual(fut.cancel().result(5), uring.CancelOutcome.CANCELLED)
        with self.assertRaises(uring.OperationCancelledError):
            fut.result(5)

    def test_linked_timeout_cancels_read(self):
        r, _ = self.pipe()
        with uring.Buffer(16) as buf:
            fut = self.ring.read(r, buf, timeout=0.05)
            with self.assertRaises(uring.OperationTimeoutError) as cm:
                fut.result(5)
            self.assertIsInstance(cm.exception, TimeoutError)
            self.assertEqual(cm.exception.errno, 62)  # ETIME
            self.assertEqual(buf.state, "user")

    def test_pread_timeout_cancels_and_returns_buffer(self):
        r, _ = self.pipe()
        with uring.Buffer(16) as buf:
            with self.assertRaises(uring.OperationTimeoutError):
                self.ring.pread(r, buf, timeout=0.05)
            self.assertEqual(buf.state, "user")

    def test_close_ring_with_reads_in_flight(self):
        r, _ = self.pipe()
        ring = uring.Ring(16)
        bufs = [uring.Buffer(32) for _ in range(4)]
        futs = [ring.read(r, b) for b in bufs]
        ring.submit()
        ring.close()
        for f in futs:
            self.assertTrue(f.done())
            self.assertIsInstance(f.exception(), (uring.RingClosedError, uring.OperationCancelledError))
        for b in bufs:
            self.assertEqual(b.state, "user")  # came back with the CQEs of the shutdown cancel
            b.close()


if __name__ == "__main__":
    unittest.main()
