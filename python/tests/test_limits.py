"""Resource limits a user can hit: the error names the limit and its value."""

import os
import shutil
import subprocess
import sys
import textwrap
import unittest

from support import PYTHON_DIR

SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {python_dir!r})
    import uring
    ring = uring.Ring(8)
    table = ring.register_buffers(4)
    try:
        table.allocate(1 << 20)   # 1 MiB of locked memory under a 64 KiB limit
        print("allocated")
    except uring.UringIOError as e:
        print("errno", e.errno, e)
""")


class MemlockTests(unittest.TestCase):
    def test_registering_more_than_RLIMIT_MEMLOCK_names_the_limit(self):
        python = sys.executable
        prefix = []
        if os.geteuid() == 0:
            # root's CAP_IPC_LOCK ignores the limit: run the script as an unprivileged user, with
            # the system's python (a python under /root is not readable by that user)
            setpriv = shutil.which("setpriv")
            if setpriv is None or not os.access("/usr/bin/python3", os.X_OK):
                self.skipTest("running as root without setpriv or /usr/bin/python3: cannot drop CAP_IPC_LOCK")
            prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
            python = "/usr/bin/python3"
        command = prefix + ["bash", "-c", 'ulimit -l 64 && exec "$0" -c "$1"', python, SCRIPT.format(python_dir=PYTHON_DIR)]
        env = dict(os.environ, HOME="/tmp")
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd="/tmp")
        if result.returncode != 0 and "Permission denied" in result.stderr:
            self.skipTest(f"the unprivileged user cannot read the checkout: {result.stderr.strip()[-200:]}")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("errno 12", result.stdout)
        self.assertIn("RLIMIT_MEMLOCK at 64 KiB", result.stdout)


if __name__ == "__main__":
    unittest.main()
