"""asyncio integration: the ring's eventfd watched with loop.add_reader, completions reaped in batches."""

import asyncio
import os
import socket
import time
import unittest

from support import RingTestCase, uring


class AsyncioTests(RingTestCase):
    def run_async(self, coro, timeout=20):
        return asyncio.run(asyncio.wait_for(coro, timeout))

    def test_await_nop_and_gather(self):
        async def main():
            self.assertEqual(await self.ring.nop(), 0)
            results = await asyncio.gather(*(self.ring.nop() for _ in range(2000)))
            self.assertEqual(results, [0] * 2000)
            self.assertEqual(await self.ring.nop_batch(3000), 3000)
        self.run_async(main())

    def test_uring_gather(self):
        r, w = self.pipe()

        async def main():
            self.assertEqual(await uring.gather(*(self.ring.nop() for _ in range(500))), [0] * 500)
            self.assertEqual(await uring.gather(), [])
            with uring.Buffer(8) as buf:
                pending = self.ring.read(r, buf)
                with self.assertRaises(asyncio.TimeoutError):
                    await asyncio.wait_for(uring.gather(self.ring.nop(), pending), 0.05)
                while not pending.done():
                    await asyncio.sleep(0.001)
                self.assertTrue(pending.cancelled())
                self.assertEqual(buf.state, "user")
            with self.assertRaises(uring.UringIOError):
                await uring.gather(self.ring.nop(), self.ring.close_fd(w + 1000))
        self.run_async(main())

    def test_pipe_read_woken_by_eventfd(self):
        r, w = self.pipe()

        async def main():
            loop = asyncio.get_running_loop()
            with uring.Buffer(64) as buf:
                loop.call_later(0.05, os.write, w, b"wake up")
                t = time.monotonic()
                n = await self.ring.read(r, buf)
                self.assertGreaterEqual(time.monotonic() - t, 0.04)
                self.assertEqual(buf.bytes(n), b"wake up")
        self.run_async(main())

    def test_sleep_and_timeouts(self):
        async def main():
            t = time.monotonic()
            self.assertTrue(await self.ring.sleep(0.05))
            self.assertGreaterEqual(time.monotonic() - t, 0.045)
            # many concurrent timers
            t = time.monotonic()
            results = await asyncio.gather(*(self.ring.timeout(0.02 + i * 0.001) for i in range(50)))
            self.assertEqual(results, [True] * 50)
            self.assertLess(time.monotonic() - t, 2)
        self.run_async(main())

    def test_wait_for_timeout_cancels_in_the_kernel(self):
        r, w = self.pipe()

        async def main():
            buf = uring.Buffer(64)
            buf.write(b"canary")
            fut = self.ring.read(r, buf)
            with self.assertRaises(asyncio.TimeoutError):
                await asyncio.wait_for(fut, 0.05)
            # the kernel cancel is in flight or done; the buffer comes back only with the CQE
            while not fut.done():
                await asyncio.sleep(0.001)
            self.assertIsInstance(fut.exception(), uring.OperationCancelledError)
            self.assertEqual(buf.state, "user")
            os.write(w, b"later")
            self.assertEqual(os.read(r, 16), b"later")
            self.assertEqual(buf.bytes(6), b"canary")
            buf.close()
        self.run_async(main())

    def test_task_cancel(self):
        r, _ = self.pipe()

        async def reader(buf):
            return await self.ring.read(r, buf)

        async def main():
            with uring.Buffer(8) as buf:
                task = asyncio.ensure_future(reader(buf))
                await asyncio.sleep(0.02)
                self.assertTrue(buf.kernel_owned)
                task.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await task
                for _ in range(1000):
                    if not buf.kernel_owned:
                        break
                    await asyncio.sleep(0.001)
                self.assertEqual(buf.state, "user")
        self.run_async(main())

    def test_no_busy_polling_while_idle(self):
        r, w = self.pipe()

        async def main():
            with uring.Buffer(8) as buf:
                fut = self.ring.read(r, buf)
                await asyncio.sleep(0)
                cpu = time.process_time()
                await asyncio.sleep(0.3)
                used = time.process_time() - cpu
                self.assertLess(used, 0.1, f"{used:.3f} s of CPU while idle")
                os.write(w, b"x")
                self.assertEqual(await fut, 1)
        self.run_async(main())

    def test_ring_created_in_a_loop_submits_without_await(self):
        async def main():
            async with uring.Ring(8) as ring:
                seen = []
                ring.timeout(0.01).add_done_callback(lambda f: seen.append(f.result()))
                for _ in range(200):
                    if seen:
                        break
                    await asyncio.sleep(0.005)  # nothing awaits the ring: the loop submits and reaps
                self.assertEqual(seen, [True])
        self.run_async(main())

    def test_ring_outlives_its_event_loop(self):
        async def submit_and_leave():
            self.ring.nop()
            self.ring.nop()  # a kick is scheduled; the loop closes before it runs

        async def use_again():
            return await asyncio.gather(self.ring.nop(), self.ring.nop(), self.ring.timeout(0.01))
        asyncio.run(submit_and_leave())
        self.assertEqual(self.run_async(use_again(), timeout=5), [0, 0, True])

    def test_sync_and_async_use_of_one_ring(self):
        self.assertEqual(self.ring.nop().result(5), 0)

        async def main():
            return await self.ring.nop()
        self.assertEqual(self.run_async(main()), 0)
        self.assertEqual(self.ring.nop().result(5), 0)
        self.assertEqual(self.run_async(main()), 0)  # a second event loop

    def test_echo_server_round_trips(self):
        async def handle(fd):
            with uring.Buffer(4096) as buf:
                while True:
                    n = await self.ring.recv(fd, buf)
                    if n == 0:
                        break
                    sent = 0
                    while sent < n:
                        sent += await self.ring.send(fd, buf.bytes(n - sent, sent))
            await self.ring.close_fd(fd)

        async def serve(lfd, count):
            tasks = []
            for _ in range(count):
                tasks.append(asyncio.ensure_future(handle(await self.ring.accept(lfd))))
            await asyncio.gather(*tasks)

        async def client(port, i):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            for j in range(20):
                msg = f"client {i} message {j} ".encode() * (1 + j)
                writer.write(msg)
                await writer.drain()
                self.assertEqual(await reader.readexactly(len(msg)), msg)
            writer.close()
            await writer.wait_closed()

        async def uring_client(port):
            fd = await self.ring.socket()
            await self.ring.connect(fd, ("127.0.0.1", port))
            with uring.Buffer(256) as buf:
                for j in range(20):
                    msg = b"uring %d" % j
                    await self.ring.send(fd, msg)
                    got = b""
                    while len(got) < len(msg):
                        n = await self.ring.recv(fd, buf)
                        got += buf.bytes(n)
                    self.assertEqual(got, msg)
            await self.ring.close_fd(fd)

        async def main():
            lsock = socket.socket()
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            lsock.bind(("127.0.0.1", 0))
            lsock.listen(16)
            port = lsock.getsockname()[1]
            server = asyncio.ensure_future(serve(lsock.fileno(), 6))
            await asyncio.gather(*(client(port, i) for i in range(5)), uring_client(port))
            await server
            lsock.close()
        self.run_async(main())


if __name__ == "__main__":
    unittest.main()
