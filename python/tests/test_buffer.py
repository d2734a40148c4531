"""Buffer ownership: the program touches a Buffer only while it owns it."""

import gc
import os
import unittest

from support import RingTestCase, uring


class BufferTests(RingTestCase):
    def test_view_bytes_write_while_owned(self):
        with uring.Buffer(16) as buf:
            self.assertEqual(len(buf), 16)
            self.assertEqual(buf.state, "user")
            self.assertEqual(buf.bytes(), b"\0" * 16)  # zeroed
            buf.write(b"abc", 2)
            with buf.view() as v:
                self.assertEqual(v.format, "B")
                self.assertEqual(bytes(v[:5]), b"\0\0abc")
                v[0] = 0x41
            self.assertEqual(buf.bytes(3), b"A\0a")
            with self.assertRaises(IndexError):
                buf.write(b"x" * 17)

    def test_everything_refused_while_the_kernel_owns_it(self):
        r, w = self.pipe()
        buf = uring.Buffer(64)
        fut = self.ring.read(r, buf)
        self.ring.submit()
        self.assertTrue(buf.kernel_owned)
        self.assertEqual(buf.state, "kernel")
        for action in (buf.view, buf.bytes, lambda: buf.write(b"x"), buf.close,
                       lambda: self.ring.read(r, buf), lambda: self.ring.write(w, buf)):
            with self.assertRaises(uring.BufferBusyError) as cm:
                action()
            self.assertEqual(cm.exception.errno, 16)  # EBUSY
            self.assertIsInstance(cm.exception, OSError)
        os.write(w, b"data")
        self.assertEqual(fut.result(5), 4)
        self.assertEqual(buf.state, "user")
        self.assertEqual(buf.bytes(4), b"data")
        buf.close()

    def test_memoryviews_are_revoked_when_the_buffer_is_lent(self):
        path = self.temp_file(b"new contents")
        fd = self.track_fd(os.open(path, os.O_RDONLY))
        buf = uring.Buffer(32)
        v = buf.view()
        self.ring.read(fd, buf, 0).result(5)
        with self.assertRaises(ValueError):  # released: "operation forbidden on released memoryview"
            v[0]
        buf.close()

    def test_a_live_slice_blocks_lending(self):
        path = self.temp_file(b"x" * 32)
        fd = self.track_fd(os.open(path, os.O_RDONLY))
        buf = uring.Buffer(32)
        s = buf.view()[4:8]
        with self.assertRaises(uring.BufferBusyError) as cm:
            self.ring.read(fd, buf, 0)
        self.assertIsInstance(cm.exception, BufferError)  # like resizing an exported bytearray
        self.assertIsInstance(cm.exception, uring.BufferExportedError)
        with self.assertRaises(uring.BufferBusyError):
            buf.close()
        self.assertEqual(buf.state, "user")  # nothing was submitted
        del s
        self.assertEqual(self.ring.read(fd, buf, 0).result(5), 32)
        buf.close()

    def test_released_buffer(self):
        buf = uring.Buffer(8)
        buf.close()
        buf.close()  # idempotent
        self.assertEqual(buf.state, "released")
        with self.assertRaises(uring.BufferReleasedError):
            buf.bytes()
        with self.assertRaises(uring.BufferReleasedError):
            self.ring.nop() and self.ring.read(0, buf)

    def test_native_memory_comes_back(self):
        path = self.temp_file(os.urandom(8192))
        fd = self.track_fd(os.open(path, os.O_RDONLY))
        with uring.Buffer(8192) as buf:  # warm up: the ring allocates its per-slot scratch once
            self.ring.read(fd, buf, 0).result(5)
        gc.collect()
        before = uring.native_memory()
        for _ in range(50):
            with uring.Buffer(8192) as buf:
                self.ring.read(fd, buf, 0).result(5)
        dropped = uring.Buffer(4096)  # released by the garbage collector
        del dropped
        gc.collect()
        self.assertEqual(uring.native_memory()[1], before[1])

    def test_bad_arguments(self):
        with self.assertRaises(uring.UringArgumentError) as cm:
            uring.Buffer(0)
        self.assertEqual(cm.exception.errno, 22)
        self.assertIsInstance(cm.exception, ValueError)
        with self.assertRaises(uring.UringArgumentError):
            uring.Buffer(16, alignment=3)
        with uring.Buffer(16) as buf:
            with self.assertRaises(uring.UringArgumentError):
                self.ring.read(0, buf, 0, length=17)  # longer than the buffer
            with self.assertRaises(TypeError):
                self.ring.read(0, bytearray(16))


if __name__ == "__main__":
    unittest.main()
