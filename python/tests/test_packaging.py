"""The package installs with pip offline (in-tree build backend, no build requirements)."""

import os
import subprocess
import sys
import tempfile
import unittest

from support import PYTHON_DIR, uring
from uring import _native


def has_pip():
    return subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode == 0


@unittest.skipUnless(has_pip(), "pip is not installed for this interpreter")
class PackagingTests(unittest.TestCase):
    def test_pip_install_builds_offline_and_honours_uring_scripting_dir(self):
        # The build publishes the NativeAOT library unless URING_WHEEL_NATIVE_DIR names a published one.
        with tempfile.TemporaryDirectory() as target:
            proc = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", target, PYTHON_DIR],
                capture_output=True, text=True, timeout=1200)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            for name in ("ring.py", "Uring.Scripting.so", "liburing-ffi.so.2"):
                self.assertTrue(os.path.exists(os.path.join(target, "uring", name)), name)
            # URING_SCRIPTING_DIR comes before the library the package carries: set to what this
            # process uses (the checkout's build, or a published library), the installed package
            # takes the same route.
            env = dict(os.environ, PYTHONPATH=target, URING_SCRIPTING_DIR=uring.runtime_info()["assemblies"])
            proc = subprocess.run([sys.executable, "-c", "import uring; from uring import _native; r = uring.Ring(); "
                                   "print(uring.__file__, _native.load().mode, r.nop().result())"],
                                  capture_output=True, text=True, timeout=60, env=env, cwd=target)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertTrue(proc.stdout.startswith(target), proc.stdout)
            self.assertTrue(proc.stdout.strip().endswith(f" {_native.load().mode} 0"), proc.stdout)


if __name__ == "__main__":
    unittest.main()
