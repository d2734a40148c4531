#!/usr/bin/env python3
"""An asyncio echo server on io_uring sockets (accept/recv/send through the ring).

    python3 python/examples/echo_server.py [--port 7777] [--multishot] [--selftest]

With --multishot, one multishot accept serves every connection and each connection is read
with a multishot receive from a shared provided-buffer ring (the kernel picks a buffer only
when data arrives, so idle connections hold none). With --selftest it starts on a free port,
runs a few clients against itself, and exits.
"""

import argparse
import asyncio
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import uring  # noqa: E402


async def handle(ring, fd):
    with uring.Buffer(16 * 1024) as buf:
        try:
            while True:
                n = await ring.recv(fd, buf)
                if n == 0:
                    break
                sent = 0
                while sent < n:  # the buffer stays ours between operations; resend the rest
                    sent += await ring.send(fd, buf.bytes(n - sent, sent))
        except uring.UringIOError as e:
            print(f"connection {fd}: {e}", file=sys.stderr)
        finally:
            await ring.close_fd(fd)


async def handle_multishot(ring, fd, buffer_ring):
    try:
        async for chunk in ring.recv_multishot(fd, buffer_ring):
            with chunk:
                data = chunk.bytes()  # a copy: the buffer goes back to the ring at once
            sent = 0
            while sent < len(data):
                sent += await ring.send(fd, data[sent:])
    except uring.UringIOError as e:
        print(f"connection {fd}: {e}", file=sys.stderr)
    finally:
        await ring.close_fd(fd)


async def serve(ring, host, port, ready=None, multishot=False):
    lfd = await ring.socket(socket.AF_INET, socket.SOCK_STREAM)
    s = socket.socket(fileno=lfd)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.detach()
    await ring.bind(lfd, (host, port))
    await ring.listen(lfd)
    s = socket.socket(fileno=lfd)
    bound = s.getsockname()
    s.detach()
    if ready is not None:
        ready.set_result(bound)
    else:
        print(f"echo server on {bound[0]}:{bound[1]}")
    tasks = set()

    def spawn(coro):
        t = asyncio.ensure_future(coro)
        tasks.add(t)
        t.add_done_callback(tasks.discard)

    try:
        if multishot:
            with ring.buffer_ring(256, 4096) as buffer_ring:
                async for fd in ring.accept_multishot(lfd):
                    spawn(handle_multishot(ring, fd, buffer_ring))
        else:
            while True:
                spawn(handle(ring, await ring.accept(lfd)))
    finally:
        for t in tasks:
            t.cancel()
        await ring.close_fd(lfd)


async def selftest(multishot):
    async with uring.Ring() as ring:
        ready = asyncio.get_running_loop().create_future()
        server = asyncio.ensure_future(serve(ring, "127.0.0.1", 0, ready, multishot))
        host, port = await ready

        async def client(i):
            reader, writer = await asyncio.open_connection(host, port)
            for j in range(100):
                msg = b"hello %d/%d\n" % (i, j)
                writer.write(msg)
                assert await reader.readexactly(len(msg)) == msg
            writer.close()
            await writer.wait_closed()

        await asyncio.gather(*(client(i) for i in range(10)))
        server.cancel()
        try:
            await server
        except asyncio.CancelledError:
            pass
    print(f"selftest{' (multishot)' if multishot else ''}: 10 clients x 100 round trips ok")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7777)
    p.add_argument("--multishot", action="store_true")
    p.add_argument("--selftest", action="store_true")
    a = p.parse_args()
    if a.selftest:
        asyncio.run(selftest(a.multishot))
        return

    async def run():
        async with uring.Ring() as ring:
            await serve(ring, a.host, a.port, multishot=a.multishot)
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
