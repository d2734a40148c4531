"""The examples in python/examples run and do what they say."""

import hashlib
import os
import subprocess
import sys
import tempfile
import unittest

from support import PYTHON_DIR, require_io_uring

EXAMPLES = os.path.join(PYTHON_DIR, "examples")


def run(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60)


class ExampleTests(unittest.TestCase):
    def setUp(self):
        require_io_uring(self)

    def test_copy_file(self):
        with tempfile.TemporaryDirectory() as d:
            src, dst = os.path.join(d, "src"), os.path.join(d, "dst")
            data = os.urandom(3 * 1024 * 1024 + 12345)
            with open(src, "wb") as f:
                f.write(data)
            proc = run(os.path.join(EXAMPLES, "copy_file.py"), src, dst, "--depth", "4", "--block", "65536")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with open(dst, "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), hashlib.sha256(data).hexdigest())

    def test_cancel_read(self):
        proc = run(os.path.join(EXAMPLES, "cancel_read.py"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("kernel answered: CANCELLED", proc.stdout)
        self.assertIn("buffer still: b'canary'", proc.stdout)

    def test_echo_server_selftest(self):
        proc = run(os.path.join(EXAMPLES, "echo_server.py"), "--selftest")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("ok", proc.stdout)

    def test_echo_server_multishot_selftest(self):
        proc = run(os.path.join(EXAMPLES, "echo_server.py"), "--selftest", "--multishot")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("selftest (multishot)", proc.stdout)


if __name__ == "__main__":
    unittest.main()
