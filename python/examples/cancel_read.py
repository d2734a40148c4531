#!/usr/bin/env python3
"""Cancels a read that can never complete (an empty pipe) and shows that its buffer comes back
only after the kernel's completion — and that data written later never lands in it."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import uring  # noqa: E402


def main():
    r, w = os.pipe()
    with uring.Ring() as ring, uring.Buffer(64) as buf:
        buf.write(b"canary")
        pending = ring.read(r, buf)
        ring.submit()
        print("read submitted; buffer owned by:", buf.state)
        try:
            buf.bytes()
        except uring.BufferBusyError as e:
            print("touching it now:", type(e).__name__, "-", e)

        cancel = pending.cancel()
        print("cancel submitted; buffer still owned by:", buf.state, "(no CQE yet)")
        print("kernel answered:", cancel.result().name)
        try:
            pending.result()
        except uring.OperationCancelledError as e:
            print("the read ended:", type(e).__name__, f"errno={e.errno}")
        print("buffer owned by:", buf.state, "- contents:", buf.bytes(6))

        os.write(w, b"late data")
        print("data written afterwards went to the pipe:", os.read(r, 64), "- buffer still:", buf.bytes(6))
    os.close(r)
    os.close(w)


if __name__ == "__main__":
    main()
