#!/usr/bin/env python3
"""Copies a file through io_uring with a fixed number of reads/writes in flight.

    python3 python/examples/copy_file.py SRC DST [--depth 8] [--block 131072]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import uring  # noqa: E402


def copy(src, dst, depth=8, block=128 * 1024):
    with uring.Ring(2 * depth) as ring:
        fin = ring.openat(src).result()
        fout = ring.openat(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644).result()
        size = os.fstat(fin).st_size
        buffers = [uring.Buffer(block) for _ in range(depth)]
        offset = 0
        reads = {}  # buffer index -> (future, offset)
        writes = {}
        idle = list(range(depth))
        while offset < size or reads or writes:
            while idle and offset < size:  # keep `depth` reads in flight
                i = idle.pop()
                reads[i] = (ring.read(fin, buffers[i], offset), offset)
                offset += block
            ring.poll(None)  # submit, then wait for at least one completion
            for i, (fut, off) in list(reads.items()):
                if fut.done():
                    del reads[i]
                    n = fut.result()
                    writes[i] = ring.write(fout, buffers[i], off, n)
            for i, fut in list(writes.items()):
                if fut.done():
                    del writes[i]
                    fut.result()
                    idle.append(i)
        ring.fsync(fout).result()
        ring.close_fd(fin).result()
        ring.close_fd(fout).result()
        for b in buffers:
            b.close()
    return size


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--depth", type=int, default=8)
    p.add_argument("--block", type=int, default=128 * 1024)
    a = p.parse_args()
    n = copy(a.src, a.dst, a.depth, a.block)
    print(f"copied {n} bytes")


if __name__ == "__main__":
    main()
