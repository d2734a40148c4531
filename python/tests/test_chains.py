"""Linked chains: order, failure propagation, link timeouts, a buffer shared by two members."""

import os
import unittest

from support import RingTestCase, uring


class ChainTests(RingTestCase):
    def test_write_then_fsync(self):
        path = self.temp_file()
        fd = self.track_fd(os.open(path, os.O_WRONLY))
        with uring.Buffer(5) as buf:
            buf.write(b"chain")
            with self.ring.chain() as ch:
                w = ch.write(fd, buf, 0)
                f = ch.fsync(fd)
            self.assertEqual(w.result(5), 5)
            self.assertEqual(f.result(5), 0)
        with open(path, "rb") as fh:
            self.assertEqual(fh.read(), b"chain")

    def test_read_then_write_one_buffer(self):
        data = os.urandom(4096)
        src = self.temp_file(data)
        dst = self.temp_file()
        fin = self.track_fd(os.open(src, os.O_RDONLY))
        fout = self.track_fd(os.open(dst, os.O_WRONLY))
        with uring.Buffer(4096) as buf:
            with self.ring.chain() as ch:
                r = ch.read(fin, buf, 0)
                w = ch.write(fout, buf, 0)
            self.assertEqual(self.ring.wait([r, w], 5), [4096, 4096])
            self.assertEqual(buf.state, "user")
        with open(dst, "rb") as fh:
            self.assertEqual(fh.read(), data)

    def test_failure_cancels_the_rest(self):
        r, w = os.pipe()
        os.close(r)
        os.close(w)
        with uring.Buffer(8) as buf:
            with self.ring.chain() as ch:
                bad = ch.read(r, buf, 0)  # EBADF
                after = ch.nop()
            with self.assertRaises(uring.UringIOError):
                bad.result(5)
            with self.assertRaises(uring.OperationCancelledError):
                after.result(5)
            self.assertEqual(buf.state, "user")

    def test_link_timeout(self):
        r, _ = self.pipe()
        with uring.Buffer(8) as buf:
            with self.ring.chain() as ch:
                read = ch.read(r, buf)
                limit = ch.link_timeout(0.05)
            with self.assertRaises(uring.OperationTimeoutError):
                read.result(5)
            self.assertTrue(limit.result(5))
            self.assertEqual(buf.state, "user")

    def test_exception_in_block_cancels_members(self):
        with self.assertRaises(RuntimeError):
            with self.ring.chain() as ch:
                n = ch.nop()
                raise RuntimeError("abandon the chain")
        with self.assertRaises(uring.OperationCancelledError):
            n.result(5)
        ch2 = self.ring.chain()
        ch2.nop()
        ch2.submit()
        with self.assertRaises(uring.UringStateError):
            ch2.nop()


if __name__ == "__main__":
    unittest.main()
