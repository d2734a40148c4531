"""Multishot accept and receive as streams (sync and asyncio)."""

import asyncio
import os
import socket
import unittest

from support import RingTestCase, uring


def listener():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s


class MultishotTests(RingTestCase):
    def test_accept_multishot_sync_then_cancel(self):
        with listener() as ls:
            stream = self.ring.accept_multishot(ls.fileno())
            clients = [socket.create_connection(ls.getsockname()) for _ in range(3)]
            try:
                fds = [next(stream) for _ in range(3)]
                self.assertEqual(len(set(fds)), 3)
                for fd in fds:
                    self.assertEqual(socket.socket(fileno=os.dup(fd)).getpeername()[0], "127.0.0.1")
                    os.close(fd)
                stream.cancel()
                self.assertEqual(list(stream), [])  # ends quietly after the cancel
                self.assertEqual(self.ring.in_flight, 0)
            finally:
                for c in clients:
                    c.close()

    def test_recv_multishot_small_buffer_ring(self):
        with listener() as ls:
            client = socket.create_connection(ls.getsockname())
            server_fd = self.ring.accept(ls.fileno()).result(5)
            payload = os.urandom(200_000)
            with self.ring.buffer_ring(4, 512) as br:  # 2 KiB of buffers for 200 KB: forces ENOBUFS and re-arms
                stream = self.ring.recv_multishot(server_fd, br)
                client.sendall(payload[:100_000])
                got = bytearray()
                for chunk in stream:
                    with chunk:
                        got += chunk.bytes()
                    if len(got) == 100_000:
                        client.sendall(payload[100_000:])
                        client.close()
                self.assertEqual(bytes(got), payload)  # the stream ended when the peer closed
            self.ring.close_fd(server_fd).result(5)

    def test_asyncio_echo_with_multishot(self):
        async def handle(fd, br):
            async for chunk in self.ring.recv_multishot(fd, br):
                with chunk:
                    data = chunk.bytes()
                await self.ring.send(fd, data)
            await self.ring.close_fd(fd)

        async def main():
            with listener() as ls, self.ring.buffer_ring(16, 256) as br:
                accepts = self.ring.accept_multishot(ls.fileno())
                handlers = []

                async def serve():
                    async for fd in accepts:
                        handlers.append(asyncio.ensure_future(handle(fd, br)))

                server = asyncio.ensure_future(serve())

                async def client(i):
                    reader, writer = await asyncio.open_connection(*ls.getsockname())
                    for j in range(30):
                        msg = b"%d:%d;" % (i, j) * (1 + j % 7)
                        writer.write(msg)
                        self.assertEqual(await reader.readexactly(len(msg)), msg)
                    writer.close()
                    await writer.wait_closed()

                await asyncio.gather(*(client(i) for i in range(8)))
                await asyncio.gather(*handlers)
                accepts.cancel()
                await server  # ends quietly
                self.assertEqual(len(handlers), 8)
        asyncio.run(asyncio.wait_for(main(), 20))

    def test_ring_close_ends_streams(self):
        with listener() as ls:
            ring = uring.Ring(8)
            stream = ring.accept_multishot(ls.fileno())
            ring.submit()
            ring.close()
            with self.assertRaises(uring.UringError):
                next(stream)

    def test_accept_multishot_on_a_socket_that_does_not_listen(self):
        s = socket.socket()
        try:
            with self.assertRaises(uring.UringArgumentError):
                self.ring.accept_multishot(s.fileno())
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main()
