"""A Buffer the program owns behaves like a fixed-size bytearray; lending one that is exported fails.

The buffer protocol itself (memoryview(buf), readinto, recv_into) needs Python 3.12 (PEP 688);
on 3.11 those tests are skipped and others check what 3.11 gets instead.
"""

import hashlib
import os
import socket
import sys
import time
import unittest

from support import RingTestCase, uring

HAS_BUFFER_PROTOCOL = sys.version_info >= (3, 12)
needs_pep688 = unittest.skipUnless(HAS_BUFFER_PROTOCOL, "Python 3.12+ (PEP 688: __buffer__)")


class ItemAccessTests(RingTestCase):
    """Every Python version: bytes(buf), indexing, slicing (copies) and slice assignment."""

    def test_bytes_index_and_slices_copy(self):
        with uring.Buffer(16) as buf:
            buf.write(bytes(range(16)))
            self.assertEqual(bytes(buf), bytes(range(16)))
            self.assertEqual(buf[3], 3)
            self.assertEqual(buf[-1], 15)
            self.assertEqual(buf[2:5], b"\x02\x03\x04")
            self.assertEqual(buf[::5], b"\x00\x05\x0a\x0f")
            self.assertIs(type(buf[2:5]), bytes)
            with self.assertRaises(IndexError):
                buf[16]

    def test_bytes_of_a_large_buffer_is_one_copy(self):
        with uring.Buffer(1 << 20) as buf:
            buf.write(b"end", (1 << 20) - 3)
            started = time.perf_counter()
            data = bytes(buf)  # one copy (__bytes__), not a million __getitem__ calls
            self.assertLess(time.perf_counter() - started, 0.5)
            self.assertEqual((len(data), data[-3:]), (1 << 20, b"end"))

    def test_item_and_slice_assignment(self):
        with uring.Buffer(8) as buf:
            buf[0] = 0x41
            buf[2:5] = b"xyz"
            buf[5:8] = bytearray(b"123")
            self.assertEqual(buf.bytes(), b"A\0xyz123")
            with self.assertRaises(ValueError):  # the size is fixed: no resizing assignment
                buf[0:2] = b"abc"
            with self.assertRaises((ValueError, TypeError)):
                buf[0] = 256
            self.assertEqual(buf.bytes(), b"A\0xyz123")

    def test_item_access_refused_while_the_kernel_owns_it(self):
        r, w = self.pipe()
        buf = uring.Buffer(8)
        fut = self.ring.read(r, buf)
        self.ring.submit()
        for action in (lambda: bytes(buf), lambda: buf[0], lambda: buf[0:2], lambda: buf.__setitem__(0, 1)):
            with self.assertRaises(uring.BufferBusyError):
                action()
        os.write(w, b"ok")
        self.assertEqual(fut.result(5), 2)
        self.assertEqual(buf[0:2], b"ok")
        buf.close()
        with self.assertRaises(uring.BufferReleasedError):
            bytes(buf)

    def test_item_access_leaves_nothing_exported(self):
        path = self.temp_file(b"abcd")
        fd = self.track_fd(os.open(path, os.O_RDONLY))
        with uring.Buffer(4) as buf:
            buf[0:2] = b"zz"
            self.assertEqual((buf[0], buf[1:3], bytes(buf)), (0x7a, b"z\0", b"zz\0\0"))
            self.assertEqual(self.ring.read(fd, buf, 0).result(5), 4)  # not refused
            self.assertEqual(bytes(buf), b"abcd")


@unittest.skipIf(HAS_BUFFER_PROTOCOL, "what Python 3.11 gets instead of the buffer protocol")
class Python311Tests(RingTestCase):
    def test_no_buffer_protocol_but_view_works_with_readinto_and_recv_into(self):
        with uring.Buffer(16) as buf:
            with self.assertRaises(TypeError):
                memoryview(buf)
            a, b = socket.socketpair()
            with a, b:
                a.sendall(b"hello")
                with buf.view() as v:
                    self.assertEqual(b.recv_into(v), 5)
            path = self.temp_file(b"file data")
            with open(path, "rb", buffering=0) as f, buf.view() as v:
                self.assertEqual(f.readinto(v), 9)
            self.assertEqual(bytes(buf[:9]), b"file data")


@needs_pep688
class BufferProtocolTests(RingTestCase):
    def test_memoryview_is_writable_bytes_over_the_native_memory(self):
        with uring.Buffer(32) as buf:
            with memoryview(buf) as m:
                self.assertEqual((m.format, m.itemsize, m.nbytes, m.readonly, m.ndim), ("B", 1, 32, False, 1))
                m[4:7] = b"abc"
            self.assertEqual(buf.bytes(7), b"\0\0\0\0abc")
            buf.write(b"XY", 30)
            with memoryview(buf) as m:
                self.assertEqual(bytes(m[30:]), b"XY")

    def test_standard_library_consumers(self):
        with uring.Buffer(16) as buf:
            path = self.temp_file(b"from a file")
            with open(path, "rb", buffering=0) as f:
                self.assertEqual(f.readinto(buf), 11)
            self.assertEqual(buf[:11], b"from a file")
            a, b = socket.socketpair()
            with a, b:
                a.sendall(b"from a socket")
                self.assertEqual(b.recv_into(buf), 13)
                self.assertEqual(buf[:13], b"from a socket")
                self.assertEqual(a.send(buf), 16)
                self.assertEqual(b.recv(32), buf.bytes())
            self.assertEqual(hashlib.sha256(buf).digest(), hashlib.sha256(buf.bytes()).digest())
            self.assertEqual(bytearray(buf), bytearray(buf.bytes()))
            # every consumer released what it took: the buffer can be lent
            r, w = self.pipe()
            os.write(w, b"lent")
            self.assertEqual(self.ring.read(r, buf).result(5), 4)

    def test_lending_with_a_live_export_is_refused_like_resizing_a_bytearray(self):
        path = self.temp_file(b"new contents")
        fd = self.track_fd(os.open(path, os.O_RDONLY))
        buf = uring.Buffer(32)
        m = memoryview(buf)
        m[0:3] = b"old"
        for lend in (lambda: self.ring.read(fd, buf, 0), lambda: self.ring.write(fd, buf),
                     lambda: self.ring.readv(fd, [buf]), lambda: buf.close()):
            with self.assertRaises(BufferError) as cm:
                lend()
            self.assertIsInstance(cm.exception, uring.BufferExportedError)
            self.assertIsInstance(cm.exception, uring.BufferBusyError)  # what it raised before
            self.assertEqual(cm.exception.errno, 16)
        self.assertEqual(buf.state, "user")  # nothing was submitted
        self.assertEqual(self.ring.in_flight, 0)
        self.assertEqual(bytes(m[0:3]), b"old")  # the export was not revoked: it still works
        m.release()
        self.assertEqual(self.ring.read(fd, buf, 0).result(5), 12)
        self.assertEqual(buf[:12], b"new contents")
        buf.close()

    def test_a_slice_of_an_export_keeps_it_alive(self):
        path = self.temp_file(b"x" * 16)
        fd = self.track_fd(os.open(path, os.O_RDONLY))
        with uring.Buffer(16) as buf:
            with memoryview(buf) as m:
                part = m[4:8]
            with self.assertRaises(uring.BufferExportedError):
                self.ring.read(fd, buf, 0)
            part.release()
            self.assertEqual(self.ring.read(fd, buf, 0).result(5), 16)

    def test_two_exports_both_block_until_both_are_released(self):
        with uring.Buffer(8) as buf:
            r, w = self.pipe()
            m1, m2 = memoryview(buf), memoryview(buf)
            m1.release()
            with self.assertRaises(BufferError):
                self.ring.read(r, buf)
            m2.release()
            fut = self.ring.read(r, buf)
            os.write(w, b"ok")
            self.assertEqual(fut.result(5), 2)

    def test_chain_members_check_exports_too(self):
        path = self.temp_file(b"chained")
        fd = self.track_fd(os.open(path, os.O_RDONLY))
        with uring.Buffer(8) as buf:
            m = memoryview(buf)
            with self.assertRaises(BufferError):
                with self.ring.chain() as ch:
                    ch.read(fd, buf, 0)
            self.assertEqual(self.ring.in_flight, 0)
            m.release()
            with self.ring.chain() as ch:
                fut = ch.read(fd, buf, 0)
            self.assertEqual(fut.result(5), 7)

    def test_no_export_while_the_kernel_owns_it(self):
        r, w = self.pipe()
        buf = uring.Buffer(8)
        fut = self.ring.read(r, buf)
        self.ring.submit()
        with self.assertRaises(uring.BufferBusyError):
            memoryview(buf)
        a, b = socket.socketpair()
        with a, b:
            a.sendall(b"must not land")
            # CPython's argument parsing ('w*') replaces the exporter's error with a TypeError
            with self.assertRaises((uring.BufferBusyError, TypeError)):
                b.recv_into(buf)
            self.assertEqual(b.recv(64), b"must not land")  # nothing was read into the buffer
        os.write(w, b"kernel")
        self.assertEqual(fut.result(5), 6)
        self.assertEqual(buf[:6], b"kernel")
        buf.close()
        with self.assertRaises(uring.BufferReleasedError):
            memoryview(buf)

    def test_the_export_keeps_the_buffer_object_alive(self):
        import gc
        buf = uring.Buffer(8)
        buf.write(b"kept")
        m = memoryview(buf)
        del buf
        gc.collect()
        self.assertEqual(bytes(m[:4]), b"kept")  # the memory was not freed under the view
        m.release()

    def test_view_keeps_its_old_contract(self):
        # buf.view() results are still released by the buffer when it is lent (not refused).
        path = self.temp_file(b"data")
        fd = self.track_fd(os.open(path, os.O_RDONLY))
        with uring.Buffer(8) as buf:
            v = buf.view()
            self.assertEqual(self.ring.read(fd, buf, 0).result(5), 4)
            with self.assertRaises(ValueError):
                v[0]


if __name__ == "__main__":
    unittest.main()
