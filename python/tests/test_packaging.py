"""The package installs with pip offline (in-tree build backend, no build requirements)."""

import os
import subprocess
import sys
import tempfile
import unittest

from support import PYTHON_DIR, uring


def has_pip():
    return subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode == 0


@unittest.skipUnless(has_pip(), "pip is not installed for this interpreter")
class PackagingTests(unittest.TestCase):
    def test_pip_install_builds_offline_and_imports(self):
        with tempfile.TemporaryDirectory() as target:
            proc = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", target, PYTHON_DIR],
                capture_output=True, text=True, timeout=120)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            self.assertTrue(os.path.exists(os.path.join(target, "uring", "ring.py")))
            env = dict(os.environ, PYTHONPATH=target, URING_SCRIPTING_DIR=uring.runtime_info()["assemblies"])
            proc = subprocess.run([sys.executable, "-c", "import uring; r = uring.Ring(); print(uring.__file__, r.nop().result())"],
                                  capture_output=True, text=True, timeout=60, env=env, cwd=target)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertTrue(proc.stdout.startswith(target), proc.stdout)
            self.assertTrue(proc.stdout.strip().endswith(" 0"))


if __name__ == "__main__":
    unittest.main()
