#!/usr/bin/env python3
"""User-space instructions per operation, counted with valgrind (callgrind).

    python3 python/bench/instructions.py [ROW ...]

A shared machine's load moves wall-clock and CPU-time figures by 2-5x; instruction counts do
not move. Each row runs twice under ``valgrind --tool=callgrind`` (2,000 and 6,000 operations);
the difference over 4,000 is the cost of one operation without start-up. Kernel work is not
counted (the syscalls themselves are the same for every ring row: one io_uring_enter per
operation). Rows:

  os.pread          4 KiB page-cached read, the bar
  ring.pread        the one-call blocking helper
  read().result()   a Future, then its result
  nop().result()
  nop_wait()
  raw               the two C ABI calls read().result() makes (start, reap), with no Python around them

Needs valgrind. Use the NativeAOT library (``URING_SCRIPTING_DIR`` naming a ``dotnet publish`` of
src/Scripting): callgrind does not follow the .NET runtime's JIT well.
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROWS = ["os.pread", "ring.pread", "read().result()", "nop().result()", "nop_wait()", "raw"]
SMALL, LARGE = 2000, 6000


def run_row(row, n):
    """The measured loop (run inside valgrind)."""
    sys.path.insert(0, os.path.join(HERE, ".."))
    import uring
    ring = uring.Ring(256)
    fd_tmp, path = tempfile.mkstemp(prefix="uring-bench-")
    try:
        os.write(fd_tmp, os.urandom(1 << 20))
        os.close(fd_tmp)
        fd = os.open(path, os.O_RDONLY)
        buf = uring.Buffer(4096)
        offsets = [4096 * (i & 255) for i in range(n)]
        if row == "os.pread":
            p = os.pread
            for o in offsets:
                p(fd, 4096, o)
        elif row == "ring.pread":
            p = ring.pread
            for o in offsets:
                p(fd, buf, o)
        elif row == "read().result()":
            r = ring.read
            for o in offsets:
                r(fd, buf, o).result()
        elif row == "nop().result()":
            r = ring.nop
            for _ in offsets:
                r().result()
        elif row == "nop_wait()":
            w = ring.nop_wait
            for _ in offsets:
                w()
        elif row == "raw":
            rid, bid, start, reap = ring._id, buf._id, ring._fast_Read, ring._reap_nb
            token = 1
            for o in offsets:
                start(rid, token, fd, bid, o & 0xFFFFFFFF, o >> 32, -1, -1)
                reap(rid, 0)
                token += 1
        else:
            raise SystemExit(f"unknown row {row!r}; rows: {', '.join(ROWS)}")
        os.close(fd)
        buf.close()
        ring.close()
    finally:
        os.unlink(path)


def count(row, n):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "callgrind.out")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
                        os.path.abspath(__file__), "--run", row, str(n)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as f:
            for line in f:
                if line.startswith("summary:"):
                    return int(line.split()[1])
    raise RuntimeError("callgrind wrote no summary")


def main(argv):
    if len(argv) == 4 and argv[1] == "--run":
        run_row(argv[2], int(argv[3]))
        return
    rows = argv[1:] or ROWS
    print(f"user-space instructions per operation (callgrind, {LARGE:,} - {SMALL:,} operations), Python {sys.version.split()[0]}")
    for row in rows:
        per_op = (count(row, LARGE) - count(row, SMALL)) / (LARGE - SMALL)
        print(f"  {row:<18} {per_op:>8,.0f}", flush=True)


if __name__ == "__main__":
    main(sys.argv)
