"""The other ring set-ups: COOP_TASKRUN (no DEFER_TASKRUN) and SQPOLL, synchronously and in asyncio."""

import asyncio
import os
import unittest

from support import require_io_uring, uring


class ModeTests(unittest.TestCase):
    MODES = {"coop_taskrun": dict(defer_taskrun=False), "sqpoll": dict(sqpoll=True)}

    def setUp(self):
        require_io_uring(self)

    def exercise(self, **options):
        r, w = os.pipe()
        try:
            with uring.Ring(32, **options) as ring, uring.Buffer(64) as buf:
                self.assertEqual(ring.nop().result(5), 0)
                self.assertEqual(ring.nop_batch(100).result(5), 100)
                fut = ring.read(r, buf)
                ring.submit()
                os.write(w, b"sync")
                self.assertEqual(fut.result(5), 4)

                async def main():
                    loop = asyncio.get_running_loop()
                    loop.call_later(0.02, os.write, w, b"async")
                    n = await asyncio.wait_for(ring.read(r, buf), 5)
                    self.assertEqual(buf.bytes(n), b"async")
                    with self.assertRaises(asyncio.TimeoutError):
                        await asyncio.wait_for(ring.read(r, buf), 0.02)
                    while buf.kernel_owned:
                        await asyncio.sleep(0.001)
                    return await uring.gather(*(ring.nop() for _ in range(50)))
                self.assertEqual(asyncio.run(main()), [0] * 50)
                return ring.info()
        finally:
            os.close(r)
            os.close(w)

    def test_coop_taskrun(self):
        info = self.exercise(**self.MODES["coop_taskrun"])
        self.assertFalse(info["setup_flags"] & (1 << 13))  # no IORING_SETUP_DEFER_TASKRUN

    def test_sqpoll(self):
        try:
            info = self.exercise(**self.MODES["sqpoll"])
        except uring.UringIOError as e:  # SQPOLL refused (privileges, limits): the environment's choice
            self.skipTest(f"SQPOLL not available here: {e}")
        self.assertTrue(info["setup_flags"] & (1 << 1))  # IORING_SETUP_SQPOLL


if __name__ == "__main__":
    unittest.main()
