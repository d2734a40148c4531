"""Ring.accept_multishot_resilient: a multishot accept that pauses when the process runs out of
descriptors, and resumes once one is free.

The scenarios that run out of descriptors run in a child process: it lowers RLIMIT_NOFILE to just
above its highest open descriptor and takes every free number below it, so the kernel's accept fails
with EMFILE. (The kernel reads the limit when the accept is armed, so each child starts the stream
after lowering it; and it reserves a descriptor before every attempt, so an accept armed with none
free fails at once, client or not.) This process keeps its own limit and descriptors. Every wait in
a child is bounded: a broken pause or resume fails the test with a message, within seconds, instead
of hanging it.
"""

import asyncio
import datetime
import os
import socket
import subprocess
import sys
import textwrap
import time
import unittest

from support import PYTHON_DIR, RingTestCase, require_io_uring, uring

CHILD_PRELUDE = '''
import asyncio, errno, os, resource, signal, socket, sys, threading, time
import uring


def _stuck(signum, frame):
    raise TimeoutError("the scenario did not finish within its alarm (a wait that never ends?)")


signal.signal(signal.SIGALRM, _stuck)
signal.alarm(40)


class NoDescriptorsLeft:
    """Lowers the soft RLIMIT_NOFILE to just above the highest open descriptor and takes every free
    number below it; free(n) gives n back, fill() takes the free ones again; leaving closes them all
    and restores the limit."""

    def __enter__(self):
        self.limits = resource.getrlimit(resource.RLIMIT_NOFILE)
        highest = max(int(name) for name in os.listdir("/proc/self/fd"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 1, self.limits[1]))
        self.fillers = []
        self.fill()
        return self

    def fill(self):
        while True:
            try:
                self.fillers.append(os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC))
            except OSError as e:
                assert e.errno == errno.EMFILE, e
                return

    def free(self, n=1):
        for _ in range(n):
            os.close(self.fillers.pop())

    def __exit__(self, *exc):
        for fd in self.fillers:
            os.close(fd)
        self.fillers = []
        resource.setrlimit(resource.RLIMIT_NOFILE, self.limits)


def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


def open_fds():
    return len(os.listdir("/proc/self/fd")) - 1  # listdir's own descriptor


def warm_up(ring, ls):
    """Runs an accept and a timeout once with descriptors to spare: through hostfxr the runtime
    loads code from disk for a ring's first operation (which needs a descriptor)."""
    with ring.accept_multishot_resilient(ls) as stream:
        c = socket.create_connection(ls.getsockname())
        os.close(next(stream))
        c.close()
    ring.sleep(0.001).result(5)


def drive_until(ring, condition, what, seconds=10):
    """Drives the ring (a short ring timeout at a time) until condition() holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {seconds} s")
        ring.sleep(0.01).result(5)


async def until(condition, what, seconds=10):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {seconds} s")
        await asyncio.sleep(0.01)


def peer_of(fd):
    s = socket.socket(fileno=fd)  # no descriptor of its own: works with none left
    try:
        return s.getpeername()
    finally:
        s.detach()
'''


def run_child(body, timeout=60):
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", CHILD_PRELUDE + textwrap.dedent(body)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    return proc, time.monotonic() - started


class OutOfDescriptorsTests(unittest.TestCase):
    def setUp(self):
        require_io_uring(self)

    def check(self, body):
        proc, elapsed = run_child(body)
        self.assertEqual(proc.returncode, 0, f"the child failed after {elapsed:.1f} s:\n{proc.stdout}\n{proc.stderr}")
        self.assertEqual(proc.stdout.strip().splitlines()[-1:], ["ok"], proc.stdout + proc.stderr)

    def test_pauses_on_emfile_and_resumes_with_the_waiting_client_once_a_descriptor_is_free(self):
        self.check("""
            ring = uring.Ring(64)
            ls = listener()
            warm_up(ring, ls)
            client = socket.socket()  # its descriptor now: connecting needs none
            main = threading.get_ident()
            seen, iterating = [], [False]
            with NoDescriptorsLeft() as fds:
                stream = ring.accept_multishot_resilient(ls, backoff=(0.01, 0.02))
                stream.add_pause_callback(lambda p: seen.append((p, iterating[0], threading.get_ident())))
                client.connect(ls.getsockname())
                drive_until(ring, lambda: stream.paused, "pause")
                first = stream.last_pause
                assert stream.pauses == 1, stream.pauses
                drive_until(ring, lambda: stream.last_pause.failed_attempts >= 3, "failed retries")
                assert stream.paused and stream.pauses == 1, stream
                assert seen == [], seen  # callbacks wait for the thread that iterates
                fds.free(1)
                iterating[0] = True
                fd = next(stream)
                iterating[0] = False
            assert peer_of(fd) == client.getsockname(), (peer_of(fd), client.getsockname())
            assert first.kind == "paused" and first.failed_attempts == 1 and first.backoff == 0.01, first
            assert isinstance(first.error, uring.UringIOError) and first.error.errno == errno.EMFILE, first
            assert not stream.paused and stream.pauses == 1, stream
            last = stream.last_pause
            assert last.kind == "resumed" and last.error.errno == errno.EMFILE and last.failed_attempts >= 3, last
            assert last.backoff == 0 and last.paused_for > 0, last
            kinds = [p.kind for p, _, _ in seen]
            assert kinds == ["paused", "retry_failed", "resumed"], kinds  # retries merged while waiting
            assert seen[1][0].failed_attempts >= 3 and seen[1][0].backoff == 0.02, seen[1]
            assert all(inside and thread == main for _, inside, thread in seen), seen
            os.close(fd)
            client.close()
            stream.close()
            assert ring.in_flight == 0, ring.in_flight
            ring.close()
            print("ok")
        """)

    def test_retry_now_cuts_a_long_backoff_short(self):
        self.check("""
            ring = uring.Ring(64)
            ls = listener()
            warm_up(ring, ls)
            client = socket.socket()
            with NoDescriptorsLeft() as fds:
                stream = ring.accept_multishot_resilient(ls, backoff=uring.AcceptBackoff(initial=30, maximum=30))
                stream.retry_now()  # not paused: nothing to cut short
                client.connect(ls.getsockname())
                drive_until(ring, lambda: stream.paused, "pause")
                assert stream.last_pause.backoff == 30, stream.last_pause
                fds.free(1)
                started = time.monotonic()
                stream.retry_now()
                fd = next(stream)
                took = time.monotonic() - started
            assert took < 10, f"resumed after {took:.1f} s: the 30 s back-off ran out instead"
            assert peer_of(fd) == client.getsockname()
            assert stream.last_pause.kind == "resumed" and stream.last_pause.failed_attempts == 1, stream.last_pause
            os.close(fd)
            stream.close()
            stream.retry_now()  # ended: nothing happens
            ring.close()
            print("ok")
        """)

    def test_cancel_while_paused_ends_quietly_and_takes_nothing(self):
        self.check("""
            ring = uring.Ring(64)
            ls = listener()
            warm_up(ring, ls)
            client = socket.socket()
            before = open_fds()
            with NoDescriptorsLeft():
                stream = ring.accept_multishot_resilient(ls, backoff=(0.05, 0.05))
                client.connect(ls.getsockname())
                drive_until(ring, lambda: stream.paused, "pause")
                stream.cancel()
                assert list(stream) == []  # the end, without an error
                assert not stream.paused and stream.pauses == 1, stream
                assert ring.in_flight == 0, ring.in_flight
            assert open_fds() == before, (open_fds(), before)
            ls.settimeout(5)
            conn, address = ls.accept()  # the client still waits in the backlog: nothing was taken and lost
            assert address == client.getsockname(), (address, client.getsockname())
            conn.close()
            ring.close()
            print("ok")
        """)

    def test_a_callback_that_raises_ends_the_stream_with_its_exception(self):
        self.check("""
            ring = uring.Ring(64)
            ls = listener()
            warm_up(ring, ls)
            client = socket.socket()
            def refuse(pause):
                raise ValueError("from the pause callback: " + pause.kind)
            with NoDescriptorsLeft():
                stream = ring.accept_multishot_resilient(ls, backoff=(0.05, 0.05))
                stream.add_pause_callback(refuse)
                client.connect(ls.getsockname())
                try:
                    next(stream)
                    raise AssertionError("next() returned although the callback raised")
                except ValueError as e:
                    assert str(e) == "from the pause callback: paused", e
                assert list(stream) == []  # cancelled by the exception: it ends quietly
            assert ring.in_flight == 0, ring.in_flight
            ring.close()
            print("ok")
        """)

    def test_asyncio_pause_resume_and_cancellation(self):
        self.check("""
            async def main():
                ring = uring.Ring(64)
                ls = listener()
                warm_up(ring, ls)
                clients = [socket.socket() for _ in range(2)]
                loop_thread = threading.get_ident()
                seen, got = [], []
                before = open_fds()

                async def serve(stream):
                    async for fd in stream:
                        got.append(fd)

                with NoDescriptorsLeft() as fds:
                    fds.free(1)  # the accept is armed with one number free: it waits for a client
                    stream = ring.accept_multishot_resilient(ls, backoff=(0.01, 0.05))
                    stream.add_pause_callback(lambda p: seen.append((p.kind, threading.get_ident())))
                    server = asyncio.ensure_future(serve(stream))
                    await asyncio.sleep(0.1)  # the task now waits in `async for`
                    assert not stream.paused and not seen, (stream, seen)
                    fds.fill()
                    clients[0].connect(ls.getsockname())
                    # the report wakes the waiting task, and the callback runs in it
                    await until(lambda: stream.paused and seen, "pause reported to the waiting task")
                    assert seen[0] == ("paused", loop_thread), seen
                    assert stream.last_pause.error.errno == errno.EMFILE, stream.last_pause
                    fds.free(1)
                    await until(lambda: got, "connection after the pause")
                    assert not stream.paused and seen[-1] == ("resumed", loop_thread), seen
                    assert peer_of(got[0]) == clients[0].getsockname()

                    # The accepted connection took the freed number: out of descriptors again.
                    clients[1].connect(ls.getsockname())
                    await until(lambda: stream.pauses == 2 and stream.paused, "second pause")
                    stream.cancel()
                    await asyncio.wait_for(server, 5)  # the loop ends quietly
                    assert not stream.paused and ring.in_flight == 0, (stream, ring.in_flight)

                    # A task cancelled while its stream is paused cancels the stream in the kernel.
                    stream = ring.accept_multishot_resilient(ls, backoff=(0.01, 0.05))
                    server = asyncio.ensure_future(serve(stream))
                    await until(lambda: stream.paused, "pause of a new stream (the second client still waits)")
                    server.cancel()
                    try:
                        await server
                        raise AssertionError("the task was not cancelled")
                    except asyncio.CancelledError:
                        pass
                    await until(lambda: ring.in_flight == 0 and not stream.paused, "end of the cancelled stream")
                os.close(got[0])
                assert len(got) == 1, got
                assert open_fds() == before, (open_fds(), before)
                ls.settimeout(5)
                conn, address = ls.accept()  # the second client was never taken
                assert address == clients[1].getsockname(), (address, clients[1].getsockname())
                conn.close()
                ring.close()

            asyncio.run(asyncio.wait_for(main(), 30))
            print("ok")
        """)


def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


def open_fds():
    return len(os.listdir("/proc/self/fd")) - 1


class ResilientAcceptTests(RingTestCase):
    def drive_until(self, condition, what, seconds=10):
        deadline = time.monotonic() + seconds
        while not condition():
            self.assertLess(time.monotonic(), deadline, f"no {what} within {seconds} s")
            self.ring.sleep(0.01).result(5)

    def test_accepts_connections_like_accept_multishot(self):
        with listener() as ls:
            stream = self.ring.accept_multishot_resilient(ls)
            self.assertIsInstance(stream, uring.ResilientAccept)
            self.assertIsInstance(stream, uring.Stream)
            clients = [socket.create_connection(ls.getsockname()) for _ in range(3)]
            try:
                fds = [next(stream) for _ in range(3)]
                peers = set()
                for fd in fds:
                    with socket.socket(fileno=fd) as s:
                        peers.add(s.getpeername())
                self.assertEqual(peers, {c.getsockname() for c in clients})
                self.assertFalse(stream.paused)
                self.assertEqual(stream.pauses, 0)
                self.assertIsNone(stream.last_pause)
                stream.retry_now()  # not paused: nothing happens
                stream.cancel()
                self.assertEqual(list(stream), [])
                self.assertEqual(self.ring.in_flight, 0)
            finally:
                for c in clients:
                    c.close()

    def test_close_closes_the_connections_nobody_took(self):
        with listener() as ls:
            before = open_fds()
            stream = self.ring.accept_multishot_resilient(ls, (0.01, 0.25))
            clients = [socket.create_connection(ls.getsockname()) for _ in range(3)]
            try:
                self.drive_until(lambda: open_fds() == before + 6, "three accepted connections")
                stream.close()
                self.assertEqual(open_fds(), before + 3)  # the clients' own
                self.assertEqual(self.ring.in_flight, 0)
            finally:
                for c in clients:
                    c.close()
            self.assertEqual(open_fds(), before)

    def test_asyncio_accepts(self):
        async def main():
            with listener() as ls:
                stream = self.ring.accept_multishot_resilient(ls.fileno(), backoff=uring.AcceptBackoff(maximum=1))
                _, writer = await asyncio.open_connection(*ls.getsockname())
                try:
                    async for fd in stream:
                        os.close(fd)
                        stream.cancel()
                    self.assertEqual(self.ring.in_flight, 0)
                finally:
                    writer.close()
        asyncio.run(asyncio.wait_for(main(), 10))

    def test_backoff_arguments(self):
        with listener() as ls:
            for good in (None, (0.001, 0.001), [0.5, 2], uring.AcceptBackoff(), uring.AcceptBackoff(maximum=10),
                         uring.AcceptBackoff(initial=datetime.timedelta(milliseconds=5)), (0.1, None)):
                self.ring.accept_multishot_resilient(ls, good).close()
            for bad in ((0, 1), (0.5, 0.1), uring.AcceptBackoff(initial=1)):  # not positive; maximum below initial
                with self.assertRaises(uring.UringArgumentError, msg=repr(bad)):
                    self.ring.accept_multishot_resilient(ls, bad)
            with self.assertRaises(uring.UringArgumentError):
                self.ring.accept_multishot_resilient(ls, (-1, 1))
            for wrong in (0.5, "ab", (1, 2, 3), ("1", 2)):
                with self.assertRaises(TypeError, msg=repr(wrong)):
                    self.ring.accept_multishot_resilient(ls, wrong)
            with self.assertRaises(OverflowError):
                self.ring.accept_multishot_resilient(ls, (1, 1e12))
            self.assertEqual(self.ring.in_flight, 0)

    def test_a_socket_that_does_not_listen_is_refused(self):
        with socket.socket() as s:
            with self.assertRaises(uring.UringArgumentError):
                self.ring.accept_multishot_resilient(s)

    def test_pause_callbacks_are_added_and_removed(self):
        with listener() as ls:
            with self.ring.accept_multishot_resilient(ls) as stream:
                with self.assertRaises(TypeError):
                    stream.add_pause_callback(42)
                stream.add_pause_callback(print)
                stream.add_pause_callback(print)
                self.assertEqual(stream.remove_pause_callback(print), 2)
                self.assertEqual(stream.remove_pause_callback(print), 0)

    def test_a_closed_ring_ends_the_stream(self):
        with listener() as ls:
            ring = uring.Ring(8)
            stream = ring.accept_multishot_resilient(ls)
            ring.submit()
            ring.close()
            stream.retry_now()  # nothing to do
            with self.assertRaises(uring.RingClosedError):
                next(stream)
            self.assertFalse(stream.paused)


if __name__ == "__main__":
    unittest.main()
