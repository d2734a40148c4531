"""Every operation, synchronously (a plain script: no event loop)."""

import errno
import os
import socket
import threading
import time
import unittest

from support import RingTestCase, uring


class NopAndTimeoutTests(RingTestCase):
    def test_nop(self):
        fut = self.ring.nop()
        self.assertIsInstance(fut, uring.Future)
        self.assertEqual(fut.result(5), 0)
        self.assertTrue(fut.done())

    def test_fast_paths_set_every_slot_of_their_futures(self):
        # The generated fast paths build a Future without __init__: each must set all of its slots.
        slots = [s for s in uring.Future.__slots__ if s != "__weakref__"]
        path = self.temp_file(b"x" * 64)
        fd = self.track_fd(os.open(path, os.O_RDWR))
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        with uring.Buffer(16) as buf:
            starts = {"nop": lambda: self.ring.nop(), "read": lambda: self.ring.read(fd, buf, 0),
                      "write": lambda: self.ring.write(fd, buf, 0), "send": lambda: self.ring.send(a.fileno(), buf),
                      "recv": lambda: self.ring.recv(b.fileno(), buf)}
            for name, start in starts.items():
                with self.subTest(name):
                    fut = start()
                    for slot in slots:
                        getattr(fut, slot)  # AttributeError if the fast path left it unset
                    self.assertGreaterEqual(fut.result(5), 0)
                    self.assertEqual(fut.result(5), fut.result(5))

    def test_nop_batch_results(self):
        batch = self.ring.nop_batch(1000, keep_results=True)
        self.assertEqual(batch.result(5), [0] * 1000)
        self.assertEqual(self.ring.in_flight, 0)

    def test_nop_batch_larger_than_the_queues(self):
        # 64 SQ entries, 128 CQ entries: the facade submits in slices and nothing is lost
        self.assertEqual(self.ring.nop_batch(5000).result(10), 5000)

    def test_nop_wait(self):
        self.assertEqual(self.ring.nop_wait(), 0)

    def test_timeout_elapses(self):
        t = time.monotonic()
        self.assertIs(self.ring.timeout(0.05).result(5), True)
        self.assertGreaterEqual(time.monotonic() - t, 0.045)

    def test_timeout_satisfied_by_completions(self):
        fut = self.ring.timeout(10, count=2)
        self.ring.nop()
        self.ring.nop()
        self.assertIs(fut.result(5), False)

    def test_result_timeout_leaves_operation_running(self):
        fut = self.ring.timeout(0.3)
        with self.assertRaises(TimeoutError):
            fut.result(0.01)
        self.assertFalse(fut.done())
        self.assertTrue(fut.result(5))

    def test_poll_and_callbacks(self):
        seen = []
        fut = self.ring.nop()
        fut.add_done_callback(lambda f: seen.append(f.result()))
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            self.ring.poll(0.1)
        self.assertEqual(seen, [0])

    def test_info(self):
        info = self.ring.info()
        self.assertEqual(info["sq_entries"], 64)
        self.assertGreaterEqual(info["cq_entries"], 64)


class FileTests(RingTestCase):
    def test_openat_read_close(self):
        path = self.temp_file(b"hello, io_uring\n" * 100)
        fd = self.ring.openat(path).result(5)
        self.assertGreaterEqual(fd, 0)
        with uring.Buffer(4096) as buf:
            n = self.ring.read(fd, buf, 0).result(5)
            self.assertEqual(n, 1600)
            self.assertEqual(buf.bytes(n), b"hello, io_uring\n" * 100)
            # offset and length
            n = self.ring.read(fd, buf, 7, length=8).result(5)
            self.assertEqual(buf.bytes(n), b"io_uring")
        self.assertEqual(self.ring.close_fd(fd).result(5), 0)
        with self.assertRaises(OSError):
            os.fstat(fd)

    def test_read_at_file_position(self):
        path = self.temp_file(b"abcdef")
        fd = self.track_fd(os.open(path, os.O_RDONLY))
        with uring.Buffer(3) as buf:
            self.assertEqual(self.ring.read(fd, buf).result(5), 3)
            self.assertEqual(buf.bytes(), b"abc")
            self.assertEqual(self.ring.read(fd, buf).result(5), 3)
            self.assertEqual(buf.bytes(), b"def")
            self.assertEqual(self.ring.read(fd, buf).result(5), 0)

    def test_openat_create_write_fsync(self):
        path = self.temp_file()
        os.unlink(path)
        fd = self.ring.openat(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600).result(5)
        with uring.Buffer(5) as buf:
            buf.write(b"12345")
            self.assertEqual(self.ring.write(fd, buf, 0).result(5), 5)
        self.assertEqual(self.ring.write(fd, b"-bytes-", 5).result(5), 7)
        self.assertEqual(self.ring.fsync(fd).result(5), 0)
        self.assertEqual(self.ring.fdatasync(fd).result(5), 0)
        self.assertEqual(self.ring.close_fd(fd).result(5), 0)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"12345-bytes-")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)

    def test_openat_relative_to_directory_fd(self):
        path = self.temp_file(b"x")
        dfd = self.track_fd(os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY))
        fd = self.ring.openat(os.path.basename(path), dir_fd=dfd).result(5)
        self.ring.close_fd(fd).result(5)

    def test_pread_pwrite(self):
        path = self.temp_file(b"\0" * 8192)
        fd = self.track_fd(os.open(path, os.O_RDWR))
        with uring.Buffer(4096) as buf:
            buf.write(b"Z" * 4096)
            self.assertEqual(self.ring.pwrite(fd, buf, 4096), 4096)
            buf.write(b"\0" * 4096)
            self.assertEqual(self.ring.pread(fd, buf, 4096), 4096)
            self.assertEqual(buf.bytes(), b"Z" * 4096)
        self.assertEqual(os.pread(fd, 4096, 4096), b"Z" * 4096)

    def test_pread_longer_than_one_wait_slice(self):
        # The one-call path gives up after 200 ms; the read goes on as a future and pread still returns its result.
        r, w = self.pipe()
        threading.Timer(0.5, os.write, (w, b"slow data")).start()
        with uring.Buffer(64) as buf:
            t = time.monotonic()
            self.assertEqual(self.ring.pread(r, buf), 9)
            self.assertGreaterEqual(time.monotonic() - t, 0.4)
            self.assertEqual(buf.bytes(9), b"slow data")
            threading.Timer(0.3, os.write, (w, b"x")).start()
            self.assertEqual(self.ring.pread(r, buf, timeout=5), 1)

    def test_read_with_per_operation_timeout_completes(self):
        path = self.temp_file(b"data")
        fd = self.track_fd(os.open(path, os.O_RDONLY))
        with uring.Buffer(16) as buf:
            self.assertEqual(self.ring.read(fd, buf, 0, timeout=5).result(5), 4)

    def test_many_reads_in_flight(self):
        data = os.urandom(64 * 1024)
        path = self.temp_file(data)
        fd = self.track_fd(os.open(path, os.O_RDONLY))
        bufs = [uring.Buffer(4096) for _ in range(16)]
        futs = [self.ring.read(fd, b, i * 4096) for i, b in enumerate(bufs)]
        self.assertEqual(self.ring.wait(futs, 5), [4096] * 16)
        self.assertEqual(b"".join(b.bytes() for b in bufs), data)
        for b in bufs:
            b.close()


class MoreFileTests(RingTestCase):
    def test_readv_writev(self):
        path = self.temp_file()
        fd = self.track_fd(os.open(path, os.O_RDWR))
        a, b = uring.Buffer(3), uring.Buffer(5)
        a.write(b"abc")
        b.write(b"defgh")
        self.assertEqual(self.ring.writev(fd, [a, b], 0).result(5), 8)
        a.write(b"\0\0\0")
        b.write(b"\0" * 5)
        self.assertEqual(self.ring.readv(fd, [b, a], 0).result(5), 8)
        self.assertEqual(b.bytes() + a.bytes(), b"abcdefgh")
        with self.assertRaises(ValueError):
            self.ring.readv(fd, [a, a])
        a.close()
        b.close()

    def test_statx(self):
        path = self.temp_file(b"x" * 1234)
        st = self.ring.statx(path).result(5)
        ref = os.stat(path)
        self.assertEqual((st.size, st.ino, st.mode, st.nlink, st.uid), (1234, ref.st_ino, ref.st_mode, ref.st_nlink, ref.st_uid))
        self.assertLess(abs(st.mtime_ns - ref.st_mtime_ns), 100)  # the facade keeps DateTimeOffset: 100 ns ticks
        fd = self.track_fd(os.open(path, os.O_RDONLY))
        self.assertEqual(self.ring.statx("", flags=0x1000, dir_fd=fd).result(5).size, 1234)  # AT_EMPTY_PATH
        with self.assertRaises(uring.UringIOError):
            self.ring.statx("/nonexistent/x").result(5)

    def test_fallocate(self):
        path = self.temp_file()
        fd = self.track_fd(os.open(path, os.O_RDWR))
        self.assertEqual(self.ring.fallocate(fd, 0, 1 << 20).result(5), 0)
        self.assertEqual(os.fstat(fd).st_size, 1 << 20)

    def test_splice_and_tee(self):
        path = self.temp_file(b"spliced bytes")
        fd = self.track_fd(os.open(path, os.O_RDONLY))
        r1, w1 = self.pipe()
        r2, w2 = self.pipe()
        self.assertEqual(self.ring.splice(fd, 0, w1, -1, 13).result(5), 13)
        self.assertEqual(self.ring.tee(r1, w2, 13).result(5), 13)
        self.assertEqual(os.read(r1, 64), b"spliced bytes")
        self.assertEqual(os.read(r2, 64), b"spliced bytes")

    def test_poll_add(self):
        import select
        r, w = self.pipe()
        fut = self.ring.poll_add(r, select.POLLIN)
        self.ring.submit()
        self.assertFalse(fut.done())
        os.write(w, b"x")
        self.assertTrue(fut.result(5) & select.POLLIN)
        self.assertTrue(self.ring.poll_add(w, select.POLLOUT).result(5) & select.POLLOUT)


class SocketTests(RingTestCase):
    def listener(self):
        lfd = self.ring.socket(socket.AF_INET, socket.SOCK_STREAM).result(5)
        s = socket.socket(fileno=lfd)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.detach()
        self.assertEqual(self.ring.bind(lfd, ("127.0.0.1", 0)).result(5), 0)
        self.assertEqual(self.ring.listen(lfd, 16).result(5), 0)
        s = socket.socket(fileno=lfd)
        port = s.getsockname()[1]
        s.detach()
        return lfd, port

    def test_accept_connect_send_recv_shutdown(self):
        lfd, port = self.listener()
        cfd = self.ring.socket().result(5)
        acc = self.ring.accept(lfd)
        self.assertEqual(self.ring.connect(cfd, ("127.0.0.1", port)).result(5), 0)
        sfd = acc.result(5)
        self.assertGreaterEqual(sfd, 0)
        self.assertEqual(self.ring.send(cfd, b"ping").result(5), 4)
        with uring.Buffer(16) as buf:
            self.assertEqual(self.ring.recv(sfd, buf).result(5), 4)
            self.assertEqual(buf.bytes(4), b"ping")
            buf.write(b"pong")
            self.assertEqual(self.ring.send(sfd, buf, 4).result(5), 4)
            self.assertEqual(self.ring.recv(cfd, buf).result(5), 4)
            self.assertEqual(self.ring.shutdown(cfd, socket.SHUT_WR).result(5), 0)
            self.assertEqual(self.ring.recv(sfd, buf).result(5), 0)  # end of stream
        for fd in (cfd, sfd, lfd):
            self.ring.close_fd(fd).result(5)

    def test_send_zero_copy_keeps_the_buffer_until_the_notification(self):
        lfd, port = self.listener()
        client = socket.create_connection(("127.0.0.1", port))
        try:
            sfd = self.ring.accept(lfd).result(5)
            payload = bytes(range(256)) * 64
            with uring.Buffer(len(payload)) as buf:
                buf.write(payload)
                fut = self.ring.send_zc(sfd, buf)
                with self.assertRaises(uring.BufferBusyError):
                    buf.view()                      # lent until the notification CQE
                self.assertEqual(fut.result(5), len(payload))
                self.assertEqual(buf.bytes(4), payload[:4])   # the program's again
            received = b""
            client.settimeout(5)
            while len(received) < len(payload):
                received += client.recv(65536)
            self.assertEqual(received, payload)
            with self.assertRaises(TypeError):
                self.ring.send_zc(sfd, b"not a Buffer")
            self.ring.close_fd(sfd).result(5)
            self.ring.close_fd(lfd).result(5)
        finally:
            client.close()

    def test_recv_with_provided_buffer_ring(self):
        lfd, port = self.listener()
        client = socket.create_connection(("127.0.0.1", port))
        try:
            sfd = self.ring.accept(lfd).result(5)
            with self.ring.buffer_ring(4, 256) as br:
                pending = self.ring.recv_provided(sfd, br)
                client.sendall(b"provided!")
                with pending.result(5) as received:
                    self.assertEqual(len(received), 9)
                    self.assertEqual(received.bytes(), b"provided!")
                    with received.view() as v:
                        self.assertEqual(bytes(v), b"provided!")
                client.close()
                with self.ring.recv_provided(sfd, br).result(5) as eof:
                    self.assertEqual(len(eof), 0)
            self.ring.close_fd(sfd).result(5)
            self.ring.close_fd(lfd).result(5)
        finally:
            client.close()

    def test_connect_refused(self):
        lfd, port = self.listener()
        self.ring.close_fd(lfd).result(5)
        cfd = self.ring.socket().result(5)
        with self.assertRaises(uring.UringIOError) as cm:
            self.ring.connect(cfd, ("127.0.0.1", port)).result(5)
        self.assertEqual(cm.exception.errno, errno.ECONNREFUSED)
        self.ring.close_fd(cfd).result(5)


if __name__ == "__main__":
    unittest.main()
