"""Shared helpers for the tests."""

import errno
import os
import sys
import tempfile
import unittest

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PYTHON_DIR not in sys.path:
    sys.path.insert(0, PYTHON_DIR)

import uring  # noqa: E402

_unavailable = []


def require_io_uring(test):
    """Skips ``test`` when the kernel refuses io_uring (disabled by sysctl, seccomp, old kernel):
    an environment without io_uring, not a failure of this package."""
    if not _unavailable:
        try:
            uring.Ring(4).close()
            _unavailable.append(None)
        except uring.UringIOError as e:
            if e.errno not in (errno.EPERM, errno.EACCES, errno.ENOSYS):
                raise
            _unavailable.append(f"io_uring is not available here: {e}")
    if _unavailable[0] is not None:
        test.skipTest(_unavailable[0])


class RingTestCase(unittest.TestCase):
    """A fresh ring per test, closed afterwards; temporary files cleaned up."""

    def setUp(self):
        require_io_uring(self)
        self.ring = uring.Ring(64)
        self._cleanup_paths = []
        self._cleanup_fds = []

    def tearDown(self):
        self.ring.close()
        for fd in self._cleanup_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        for p in self._cleanup_paths:
            try:
                os.unlink(p)
            except OSError:
                pass

    def temp_file(self, data=b""):
        fd, path = tempfile.mkstemp(prefix="uring-test-")
        os.write(fd, data)
        os.close(fd)
        self._cleanup_paths.append(path)
        return path

    def pipe(self):
        r, w = os.pipe()
        self._cleanup_fds += [r, w]
        return r, w

    def track_fd(self, fd):
        self._cleanup_fds.append(fd)
        return fd
