"""fork() after uring was loaded, and Ctrl-C during a blocking call: the parent is never harmed,
the child gets a clear error, and an interrupted operation gives its buffer back."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import unittest

from support import PYTHON_DIR, RingTestCase, uring

FORK_SCRIPT = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {python_dir!r})
    import uring
    ring = uring.Ring()
    buf = uring.Buffer(4096)
    fd = os.open("/etc/hostname", os.O_RDONLY)
    assert ring.read(fd, buf, 0).result(5) > 0
    pid = os.fork()
    if pid == 0:
        try:
            ring.read(fd, buf, 0).result(5)
            os._exit(3)               # the child must not reach .NET
        except uring.UringStateError as e:
            assert "fork" in str(e), str(e)
        try:
            uring.Ring()
            os._exit(4)
        except uring.UringStateError:
            pass
        sys.exit(0)                   # a normal exit: atexit handlers and finalisers run in the child
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    for _ in range(2000):             # the parent's next operations (they crashed it before)
        assert ring.read(fd, buf, 0).result(5) > 0
        ring.nop().result(5)
    print("child", code, "parent ok")
""")


class ForkTests(unittest.TestCase):
    def test_a_forked_child_is_refused_and_the_parent_keeps_working(self):
        result = subprocess.run([sys.executable, "-c", FORK_SCRIPT.format(python_dir=PYTHON_DIR)],
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("child 0 parent ok", result.stdout)


class InterruptTests(RingTestCase):
    def test_ctrl_c_in_pread_cancels_the_read_and_gives_the_buffer_back(self):
        r, w = os.pipe()
        self._cleanup_fds += [r, w]
        timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
        with uring.Buffer(64) as buf:
            timer.start()
            try:
                with self.assertRaises(KeyboardInterrupt):
                    self.ring.pread(r, buf)  # a pipe with no writer activity: never completes on its own
            finally:
                timer.cancel()
            self.assertFalse(buf.kernel_owned)
            self.assertEqual(self.ring.in_flight, 0)
            os.write(w, b"later")  # the read was cancelled: this data stays in the pipe
            self.assertEqual(os.read(r, 64), b"later")
            self.assertEqual(self.ring.nop().result(5), 0)


if __name__ == "__main__":
    unittest.main()
