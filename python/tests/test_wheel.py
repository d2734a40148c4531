"""The wheel: ``pip wheel python`` (offline) carries the NativeAOT library and the pinned
liburing-ffi.so.2 and nothing else of .NET; installed with pip into a venv outside the checkout,
it works with no .NET runtime reachable.

"No .NET runtime reachable" means: ``dotnet`` removed from PATH (every PATH entry holding one is
dropped), no ``DOTNET_*``, ``PYTHONPATH`` or ``URING_*`` variables, ``python -I``, run from a
temporary folder; and, where a mount namespace can be made (root, or user namespaces), the
checkout and every .NET installation folder hidden under empty mounts. The installed package
then has no other way to work than its own library.

The wheel is built from the published library in ``$URING_WHEEL_NATIVE_DIR`` when that is set
(``./build.sh test`` publishes once and sets it), else the build backend publishes it.
"""

import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile

from support import PYTHON_DIR

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(PYTHON_DIR)
NATIVE_FILES = {"uring/Uring.Scripting.so", "uring/liburing-ffi.so.2"}
SUITE_RAN_UNDER = "URING_TEST_WHEEL_SUITE_RAN_UNDER"


def _under(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _dotnet_folders():
    """Every folder a .NET runtime could be found in (those that exist)."""
    roots = {os.environ.get("DOTNET_ROOT"), "/usr/share/dotnet", "/usr/lib/dotnet", os.path.expanduser("~/.dotnet")}
    exe = shutil.which("dotnet")
    if exe:
        roots.add(os.path.dirname(os.path.realpath(exe)))
    return sorted(r for r in roots if r and os.path.isdir(r))


def _isolated_env():
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith(("DOTNET_", "PYTHON", "URING_")) or k in ("LD_LIBRARY_PATH", "LD_PRELOAD"))}
    env["PATH"] = os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep)
                                  if d and not os.path.exists(os.path.join(d, "dotnet")) and not _under(d, REPO))
    return env


_HIDE = ('m=$1; shift; while [ "$1" != "--" ]; do "$m" -t tmpfs -o size=64k,mode=0555 uring-hidden "$1" || exit 97; '
         'shift; done; shift; exec "$@"')


def _namespace_prefix():
    """The command prefix that runs a command in a private mount namespace with the checkout and
    the .NET folders hidden, or None where no mount namespace can be made."""
    unshare, mount = shutil.which("unshare"), shutil.which("mount")
    if not unshare or not mount:
        return None
    hidden = sorted({REPO, *_dotnet_folders()})
    for flags in (["--mount"], ["--user", "--map-root-user", "--mount"]):
        prefix = [unshare, *flags, "--propagation", "private", "/bin/sh", "-c", _HIDE, "sh", mount, *hidden, "--"]
        probe = subprocess.run(prefix + ["/bin/sh", "-c", 'test -z "$(ls -A "$0")"', REPO], capture_output=True, timeout=60)
        if probe.returncode == 0:
            return prefix
    return None


def _run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, **kwargs)


def _prerequisites():
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return "the wheel is built for Linux x86-64 (the pinned liburing-ffi.so.2)"
    if _run([sys.executable, "-m", "pip", "--version"]).returncode != 0:
        return "pip is not installed for this interpreter"
    if _run([sys.executable, "-c", "import ensurepip, venv"]).returncode != 0:
        return "this interpreter cannot create venvs with pip (no ensurepip)"
    return None


_MISSING = _prerequisites()


@unittest.skipIf(_MISSING, _MISSING)
class WheelTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        base = tempfile.gettempdir()
        cls.tmp = tempfile.mkdtemp(prefix="uring-wheel-", dir=base if not _under(base, REPO) else "/tmp")
        try:
            cls._build_and_install()
        except BaseException:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def _build_and_install(cls):
        dist = os.path.join(cls.tmp, "dist")
        proc = _run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-index", "--no-deps", "-w", dist, PYTHON_DIR],
                    timeout=1200, cwd=cls.tmp)
        if proc.returncode != 0:
            raise AssertionError("pip wheel failed:\n" + proc.stdout[-3000:] + proc.stderr[-3000:])
        wheels = [n for n in os.listdir(dist) if n.endswith(".whl")]
        if len(wheels) != 1:
            raise AssertionError(f"pip wheel made {wheels}")
        cls.wheel = os.path.join(dist, wheels[0])

        cls.venv = os.path.join(cls.tmp, "venv")
        proc = _run([sys.executable, "-m", "venv", cls.venv], timeout=600, cwd=cls.tmp)
        if proc.returncode != 0:
            raise AssertionError("python -m venv failed:\n" + proc.stdout + proc.stderr)
        cls.python = os.path.join(cls.venv, "bin", "python")
        proc = _run([cls.python, "-m", "pip", "install", "--no-index", "--no-deps", cls.wheel], timeout=600, cwd=cls.tmp,
                    env=_isolated_env())
        if proc.returncode != 0:
            raise AssertionError("pip install of the wheel failed:\n" + proc.stdout + proc.stderr)
        cls.site = _run([cls.python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['platlib'])"],
                        cwd=cls.tmp).stdout.strip()
        cls.namespace = _namespace_prefix()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_isolated(self, argv, cwd, timeout):
        """Runs argv with the venv's Python in the isolation of this module's docstring."""
        return _run((self.namespace or []) + [self.python, "-I", *argv], cwd=cwd, env=_isolated_env(), timeout=timeout)

    def test_wheel_carries_the_native_library_and_nothing_else_of_dotnet(self):
        self.assertRegex(os.path.basename(self.wheel), r"^uring-[0-9.]+-py3-none-linux_x86_64\.whl$")
        with zipfile.ZipFile(self.wheel) as z:
            names = set(z.namelist())
            dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/WHEEL"))
            wheel_file = z.read(f"{dist_info}/WHEEL").decode()
            liburing = z.read("uring/liburing-ffi.so.2")
        package = {f"uring/{n}" for n in os.listdir(os.path.join(PYTHON_DIR, "uring")) if n.endswith(".py")}
        metadata = {f"{dist_info}/{n}" for n in ("METADATA", "WHEEL", "RECORD")}
        self.assertEqual(names, package | NATIVE_FILES | metadata)
        self.assertIn("Root-Is-Purelib: false", wheel_file)
        self.assertIn("Tag: py3-none-linux_x86_64", wheel_file)
        # the pinned copy, byte for byte (when this checkout has fetched its pin)
        with open(os.path.join(REPO, "liburing-headers", "pins.txt")) as f:
            default = re.search(r"(?m)^default\s+(\S+)", f.read()).group(1)
        pinned = os.path.join(REPO, "liburing-headers", "cache", default, "root", "usr", "lib", "x86_64-linux-gnu", "liburing-ffi.so.2")
        if os.path.exists(pinned):
            with open(pinned, "rb") as f:
                self.assertEqual(liburing, f.read(), f"uring/liburing-ffi.so.2 is not {pinned}")

    def test_installed_wheel_works_without_dotnet(self):
        script = os.path.join(self.tmp, "check_installed_wheel.py")
        shutil.copy(os.path.join(HERE, "test_wheel_installed.py"), script)
        work = tempfile.mkdtemp(dir=self.tmp)
        argv = [script, REPO, self.site] + (["--hidden"] if self.namespace else [])
        proc = self.run_isolated(argv, cwd=work, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stdout[-4000:] + proc.stderr[-4000:])
        self.assertIn("wheel check passed", proc.stdout.splitlines()[-1])
        if not self.namespace:
            print("\n  (no mount namespace here: the checkout and the .NET folders stayed visible; PATH, the "
                  "environment and sys.path were isolated)", file=sys.stderr)

    def test_package_suite_passes_on_the_installed_wheel(self):
        # The suite and the examples, copied out of the checkout, run by the venv's Python: every
        # test then goes through the installed package and its NativeAOT library. Not copied: the
        # tests of building and installing, and uring.dotnet's (Python.NET needs the .NET runtime).
        # `run.py --every-python` runs this module under each interpreter, one after the other, in
        # processes started from the first: the first runs the suite, which takes a minute or so,
        # and the others, inheriting the variable set here, leave it out (the wheel check above
        # still runs under each).
        ran_under = os.environ.get(SUITE_RAN_UNDER)
        if ran_under:
            self.skipTest(f"the package's suite ran on the installed wheel under Python {ran_under} in this run")
        os.environ[SUITE_RAN_UNDER] = sys.version.split()[0]
        suite = os.path.join(self.tmp, "suite")
        shutil.copytree(HERE, os.path.join(suite, "tests"),
                        ignore=shutil.ignore_patterns("__pycache__", "test_wheel*.py", "test_packaging.py", "test_dotnet.py"))
        shutil.copytree(os.path.join(PYTHON_DIR, "examples"), os.path.join(suite, "examples"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        proc = self.run_isolated([os.path.join(suite, "tests", "run.py")], cwd=suite, timeout=1200)
        summary = re.findall(r"(?m)^(\d+) passed, (\d+) failed, (\d+) skipped$", proc.stdout)
        self.assertTrue(summary, "no summary line:\n" + proc.stdout[-4000:] + proc.stderr[-4000:])
        passed, failed, _ = map(int, summary[-1])
        failures = "\n".join(line for line in proc.stdout.splitlines() if line.startswith(("FAIL", "ERROR")))
        self.assertEqual((failed, proc.returncode), (0, 0), failures + "\n" + proc.stdout[-6000:] + proc.stderr[-2000:])
        self.assertGreater(passed, 0)
        print(f"\n  the package's suite on the installed wheel: {passed} passed, {failed} failed", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
