#!/usr/bin/env python3
"""Runs the Python suite (unittest, standard library only).

    python3 python/tests/run.py [PATTERN] [--every-python]

PATTERN selects test files (default ``test_*.py``). With ``--every-python`` the suite also runs,
one after the other, under every other interpreter found: the paths in ``$URING_TEST_PYTHONS``
(separated by ``:``) if set, else pyenv's ``~/.pyenv/versions/*/bin/python3`` and
``/usr/bin/python3``, those at least as new as the package supports (3.9).

The closing lines name every test that failed (with the interpreter it failed under), and the
last line is exactly ``N passed, N failed, N skipped`` over all interpreters (errors count as
failed); the exit status is non-zero when anything failed. Needs the built assemblies
(``dotnet build src/Scripting -c Release``) or URING_SCRIPTING_DIR.
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the package, without installing it
sys.path.insert(0, HERE)

OLDEST_PYTHON = (3, 9)  # python/pyproject.toml: requires-python
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")
FAILED_PREFIX = "failed: "


class CountingResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def this_python():
    return sys.version.split()[0]


def run_here(pattern):
    """Runs the suite in this interpreter: (passed, [failed test ids], skipped)."""
    suite = unittest.defaultTestLoader.discover(HERE, pattern=pattern, top_level_dir=HERE)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=CountingResult)
    result = runner.run(suite)
    for test, reason in result.skipped:
        print(f"skipped {test.id()}: {reason}")
    failed = [test.id() for test, _ in result.failures + result.errors]
    failed += [f"{test.id()} (unexpected success)" for test in result.unexpectedSuccesses]
    return result.passed, failed, len(result.skipped)


def other_pythons():
    """Interpreters other than this one, oldest first: $URING_TEST_PYTHONS, or pyenv's and Debian's."""
    listed = os.environ.get("URING_TEST_PYTHONS")
    if listed is not None:
        candidates = [p for p in listed.split(os.pathsep) if p]
    else:
        candidates = glob.glob(os.path.expanduser("~/.pyenv/versions/*/bin/python3")) + ["/usr/bin/python3"]
    seen = {os.path.realpath(sys.executable)}
    found = []
    for path in candidates:
        real = os.path.realpath(path)
        if real in seen or not os.access(real, os.X_OK):
            continue
        seen.add(real)
        try:
            out = subprocess.run([path, "-c", "import sys; print(*sys.version_info[:3])"], capture_output=True,
                                 text=True, timeout=60).stdout.split()
            version = tuple(int(x) for x in out)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            continue
        if listed is not None or version[:2] >= OLDEST_PYTHON:
            found.append((version, path))
    return [(".".join(map(str, version)), path) for version, path in sorted(found)]


def run_child(version, python, pattern):
    """Runs the suite under another interpreter, its output passed through: (version, passed, [failed ids], skipped)."""
    print(f"\n===== {python}", flush=True)
    proc = subprocess.Popen([python, os.path.abspath(__file__), pattern], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        lines.append(line.rstrip("\n"))
    proc.wait()
    sys.stdout.flush()
    summary = SUMMARY.match(lines[-1]) if lines else None
    if summary is None:  # it crashed: name the test that was running (verbose output: "name (id) ... ")
        started_tests = [m for m in map(re.compile(r"^(\w+) \(([\w.]+)\) \.\.\. ?$").match, lines) if m]
        where = "the suite"
        if started_tests:  # Python 3.11+ prints "name (module.Class.name)", older ones "name (module.Class)"
            name, where = started_tests[-1].groups()
            where = where if where.endswith("." + name) else f"{where}.{name}"
        return version, 0, [f"{where} (the interpreter exited with status {proc.returncode})"], 0
    passed, failed_count, skipped = (int(g) for g in summary.groups())
    failed = []
    for line in lines:
        if line.startswith(FAILED_PREFIX):
            failed = [name.rsplit(" [", 1)[0] for name in line[len(FAILED_PREFIX):].split(", ")]
    if failed_count > len(failed):  # never count fewer failures than the child did
        failed.append(f"{failed_count - len(failed)} more, not named by {python}")
    return version, passed, failed, skipped


def main(argv):
    ap = argparse.ArgumentParser(description="Runs the uring Python suite.")
    ap.add_argument("pattern", nargs="?", default="test_*.py", help="test files to run (default test_*.py)")
    ap.add_argument("--every-python", action="store_true",
                    help="also run under every other interpreter found ($URING_TEST_PYTHONS, pyenv, /usr/bin/python3)")
    args = ap.parse_args(argv[1:])

    started = time.monotonic()
    passed, failed, skipped = run_here(args.pattern)
    runs = [(this_python(), passed, failed, skipped)]
    print(f"python suite: {time.monotonic() - started:.1f} s, Python {this_python()}", flush=True)
    if args.every_python:
        for version, python in other_pythons():
            runs.append(run_child(version, python, args.pattern))
        print()
        for version, p, f, s in runs:
            print(f"Python {version}: {p} passed, {len(f)} failed, {s} skipped")
        print(f"python suite under {len(runs)} interpreters: {time.monotonic() - started:.1f} s")

    names = [f"{name} [{version}]" for version, _, f, _ in runs for name in f]
    if names:
        print(FAILED_PREFIX + ", ".join(names))
    sys.stdout.flush()
    print(f"{sum(r[1] for r in runs)} passed, {len(names)} failed, {sum(r[3] for r in runs)} skipped")
    return 1 if names else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
