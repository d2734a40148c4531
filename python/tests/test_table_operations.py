"""The operations Python reaches through the generated table surface: every one the C# Ring has,
checked against the file system, the socket module and os rather than against the package."""

import datetime
import errno
import os
import socket
import tempfile
import time
import unittest

from support import RingTestCase, uring
from uring import _operations


class CoverageTests(unittest.TestCase):
    def test_every_operation_of_the_table_is_a_ring_method(self):
        for export, name in _operations.PYTHON_NAMES.items():
            if export == "LinkTimeout":
                self.assertTrue(callable(getattr(uring.Chain, name)), name)
            else:
                self.assertTrue(callable(getattr(uring.Ring, name)), name)

    def test_every_chainable_operation_is_a_chain_method(self):
        for name in ("read", "write", "openat", "sendmsg", "recvmsg", "read_fixed", "timeout_until", "pipe", "mkdirat"):
            self.assertTrue(callable(getattr(uring.Chain, name)), name)


class FileSystemTests(RingTestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="uring-table-")

    def tearDown(self):
        super().tearDown()
        for root, dirs, files in os.walk(self.dir, topdown=False):
            for f in files:
                os.unlink(os.path.join(root, f))
            for d in dirs:
                os.rmdir(os.path.join(root, d))
        os.rmdir(self.dir)

    def test_mkdirat_renameat_linkat_symlinkat_unlinkat(self):
        sub = os.path.join(self.dir, "sub")
        self.assertEqual(self.ring.mkdirat(uring.AT_FDCWD, sub).result(5), 0)
        self.assertTrue(os.path.isdir(sub))
        with self.assertRaises(uring.UringIOError) as cm:
            self.ring.mkdirat(uring.AT_FDCWD, sub).result(5)
        self.assertEqual(cm.exception.errno, errno.EEXIST)
        dfd = os.open(sub, os.O_DIRECTORY)
        self._cleanup_fds.append(dfd)
        with open(os.path.join(sub, "a"), "w") as f:
            f.write("data")
        self.assertEqual(self.ring.renameat(dfd, "a", dfd, "b").result(5), 0)
        self.assertEqual(sorted(os.listdir(sub)), ["b"])
        self.assertEqual(self.ring.linkat(dfd, "b", dfd, "hard").result(5), 0)
        self.assertEqual(os.stat(os.path.join(sub, "hard")).st_ino, os.stat(os.path.join(sub, "b")).st_ino)
        self.assertEqual(self.ring.symlinkat("b", dfd, "soft").result(5), 0)
        self.assertEqual(os.readlink(os.path.join(sub, "soft")), "b")
        for name in ("b", "hard", "soft"):
            self.assertEqual(self.ring.unlinkat(dfd, name).result(5), 0)
        self.assertEqual(os.listdir(sub), [])
        self.assertEqual(self.ring.unlinkat(uring.AT_FDCWD, sub, 0x200).result(5), 0)  # AT_REMOVEDIR
        self.assertFalse(os.path.exists(sub))

    def test_ftruncate_fadvise_sync_file_range_on_a_file_object(self):
        path = os.path.join(self.dir, "t")
        with open(path, "wb+") as f:
            f.write(b"x" * 10000)
            f.flush()
            self.assertEqual(self.ring.ftruncate(f, 123).result(5), 0)  # any object with fileno()
            self.assertEqual(os.path.getsize(path), 123)
            self.assertEqual(self.ring.fadvise(f, 0, 0, os.POSIX_FADV_SEQUENTIAL).result(5), 0)
            self.assertEqual(self.ring.sync_file_range(f, 0, 0).result(5), 0)
        with self.assertRaises(uring.UringArgumentError):
            self.ring.ftruncate(0, -1)


class PipeTests(RingTestCase):
    def test_pipe_splice_tee_and_poll(self):
        r1, w1 = self.ring.pipe().result(5)
        r2, w2 = self.ring.pipe().result(5)
        self._cleanup_fds += [r1, w1, r2, w2]
        self.assertFalse(os.get_inheritable(r1))  # O_CLOEXEC
        os.write(w1, b"payload")
        self.assertEqual(self.ring.poll_add(r1).result(5) & 1, 1)  # POLLIN
        self.assertEqual(self.ring.tee(r1, w2, 64).result(5), 7)
        self.assertEqual(os.read(r2, 64), b"payload")  # tee did not consume r1
        self.assertEqual(self.ring.splice(r1, -1, w2, -1, 64).result(5), 7)
        self.assertEqual(os.read(r2, 64), b"payload")


class SocketTests(RingTestCase):
    def test_sendmsg_and_recvmsg_carry_the_address(self):
        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            receiver.bind(("127.0.0.1", 0))
            sender.bind(("127.0.0.1", 0))
            with uring.Buffer(3) as a, uring.Buffer(4) as b, uring.Buffer(8) as c, uring.Buffer(8) as d:
                a.write(b"abc")
                b.write(b"defg")
                sent = self.ring.sendmsg(sender, [a, b], receiver.getsockname()).result(5)
                self.assertEqual(sent, 7)
                message = self.ring.recvmsg(receiver, [c, d]).result(5)
                self.assertIsInstance(message, uring.ReceivedMessage)
                self.assertEqual(message.nbytes, 7)
                self.assertEqual(message.address, sender.getsockname())
                self.assertEqual(c.bytes(7), b"abcdefg")
                # a message longer than the buffers: MSG_TRUNC
                sender.sendto(b"0123456789" * 3, receiver.getsockname())
                message = self.ring.recvmsg(receiver, [c, d]).result(5)
                self.assertEqual(message.nbytes, 16)
                self.assertTrue(message.flags & 0x20)  # MSG_TRUNC
        finally:
            receiver.close()
            sender.close()

    def test_accept_reports_the_peer(self):
        listener = socket.create_server(("127.0.0.1", 0))
        client = socket.socket()
        try:
            fut = self.ring.accept(listener)
            client.connect(listener.getsockname())
            fd = fut.result(5)
            self._cleanup_fds.append(fd)
            self.assertIsInstance(fd, int)
            self.assertEqual(fd.address, client.getsockname())
        finally:
            client.close()
            listener.close()

    def test_a_link_timeout_cancels_any_operation(self):
        a, b = socket.socketpair()
        try:
            with uring.Buffer(16) as buf:
                fut = self.ring.recv(a, buf, timeout=0.05)
                with self.assertRaises(uring.OperationTimeoutError):
                    fut.result(5)
        finally:
            a.close()
            b.close()


class RegisteredResourceTests(RingTestCase):
    def test_registered_files_work_wherever_an_fd_does(self):
        path = self.temp_file(b"registered file data")
        with self.ring.register_files(4) as files:
            fd = os.open(path, os.O_RDWR)
            slot = files.register(fd)
            os.close(fd)  # the table holds its own reference
            self.assertIsInstance(slot, uring.RegisteredFile)
            with uring.Buffer(64) as buf:
                n = self.ring.read(slot, buf, 0).result(5)
                self.assertEqual(buf.bytes(n), b"registered file data")
            installed = self.ring.fixed_fd_install(slot).result(5)
            self._cleanup_fds.append(installed)
            self.assertEqual(os.pread(installed, 10, 0), b"registered")
            files.release(slot)
            with uring.Buffer(8) as buf:
                with self.assertRaises(uring.UringArgumentError):
                    self.ring.read(slot, buf, 0)  # the slot is empty now

    def test_registered_buffers_with_fixed_read_write_and_zero_copy_send(self):
        path = self.temp_file(b"\0" * 8192)
        fd = os.open(path, os.O_RDWR)
        self._cleanup_fds.append(fd)
        with self.ring.register_buffers(4) as table:
            registered = table.allocate(4096)
            self.assertIsInstance(registered, uring.RegisteredBuffer)
            registered.buffer.write(b"fixed!" * 100)
            self.assertEqual(self.ring.write_fixed(fd, registered, 4096).result(5), 4096)
            self.assertEqual(os.pread(fd, 6, 4096), b"fixed!")
            registered.buffer.write(b"\0" * 4096)
            self.assertEqual(self.ring.read_fixed(fd, registered, 4096, 600).result(5), 600)
            self.assertEqual(registered.buffer.bytes(6), b"fixed!")
            listener = socket.create_server(("127.0.0.1", 0))
            a = socket.create_connection(listener.getsockname())  # TCP: zero-copy send needs it
            b, _ = listener.accept()
            listener.close()
            try:
                self.assertEqual(self.ring.send_zc_fixed(a, registered, 600).result(5), 600)
                received = b""
                while len(received) < 600:
                    received += b.recv(4096)
                self.assertEqual(received, (b"fixed!" * 100))
            finally:
                a.close()
                b.close()
            registered.buffer.close()


class TimeTests(RingTestCase):
    def test_absolute_timeouts_on_both_clocks(self):
        started = time.monotonic()
        self.assertIs(self.ring.timeout_until(datetime.datetime.now() + datetime.timedelta(milliseconds=50)).result(5), True)
        self.assertIs(self.ring.timeout_until_timestamp(time.monotonic_ns() + 50_000_000).result(5), True)
        self.assertGreaterEqual(time.monotonic() - started, 0.09)
        self.assertIs(self.ring.timeout_until(time.time() - 10).result(5), True)  # already past: fires at once

    def test_times_that_do_not_fit_are_typed_errors(self):
        with self.assertRaises(OverflowError):
            self.ring.timeout(1e30)
        with self.assertRaises(OverflowError):
            self.ring.timeout(2 ** 64)
        with self.assertRaises(uring.UringArgumentError):
            self.ring.timeout(-1)
        with self.assertRaises(uring.UringArgumentError):
            self.ring.timeout(float("nan"))
        with self.assertRaises(uring.UringArgumentError):
            self.ring.timeout_until(-5)
        with self.assertRaises(TypeError):
            self.ring.timeout("soon")


class IntegerRangeTests(RingTestCase):
    def test_integers_never_wrap_on_their_way_to_C(self):
        with uring.Buffer(16) as buf:
            with self.assertRaises(OverflowError):
                self.ring.read(0, buf, 2 ** 64 + 5)  # was: a read at offset 5
            with self.assertRaises(OverflowError):
                self.ring.read(2 ** 32 + 3, buf)
            with self.assertRaises(uring.UringArgumentError):
                self.ring.read(0, buf, -2)
            with self.assertRaises(OverflowError):
                self.ring.fallocate(0, 0, 2 ** 63)
            with self.assertRaises(OverflowError):
                self.ring.splice(0, -1, 1, -1, 2 ** 31)
            with self.assertRaises(TypeError):
                self.ring.read(1.5, buf)
        with self.assertRaises(OverflowError):
            uring.Ring(2 ** 32 + 8)  # was: a ring of 8 entries
        with self.assertRaises(OverflowError):
            uring.Buffer(2 ** 32 + 4096)  # was: len() 4294971392 over 4096 native bytes
        with self.assertRaises(OverflowError):
            uring.Buffer(4096, alignment=2 ** 32)


class ChainTests(RingTestCase):
    def test_any_operation_in_a_chain(self):
        path = self.temp_file()
        fd = os.open(path, os.O_RDWR)
        self._cleanup_fds.append(fd)
        with uring.Buffer(5) as out, uring.Buffer(5) as back:
            out.write(b"chain")
            with self.ring.chain() as chain:
                wrote = chain.write(fd, out, 0)
                synced = chain.fdatasync(fd)
                truncated = chain.ftruncate(fd, 5)
                read = chain.read(fd, back, 0)
            self.assertEqual([f.result(5) for f in (wrote, synced, truncated, read)], [5, 0, 0, 5])
            self.assertEqual(back.bytes(), b"chain")


if __name__ == "__main__":
    unittest.main()
