"""uring.dotnet: the C# façade itself through Python.NET, in the same process as the ctypes route."""

import asyncio
import errno
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from support import PYTHON_DIR, RingTestCase, require_io_uring, uring

SUPPORTED = sys.version_info >= (3, 11)  # Python.NET 3.2's oldest ABI
dotnet = None


def setUpModule():
    global dotnet
    if SUPPORTED:
        import uring.dotnet
        dotnet = uring.dotnet


def require_dotnet(test):
    require_io_uring(test)
    if not SUPPORTED:
        test.skipTest("Python.NET 3.2 needs Python 3.11+")


def run_python(code, env=None, timeout=120):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=PYTHON_DIR)


class DotnetTestCase(unittest.TestCase):
    """A CallerThread ring owned by the test's thread (disposed afterwards), and temporary files."""

    def setUp(self):
        require_dotnet(self)
        from Uring import Ring, RingThreading
        self.ring = Ring(dotnet.options(Threading=RingThreading.CallerThread, Entries=64))
        self.addCleanup(self.ring.Dispose)

    def pipe(self):
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        return r, w

    def temp_fd(self, data):
        fd, path = tempfile.mkstemp(prefix="uring-dotnet-test-")
        os.unlink(path)
        self.addCleanup(os.close, fd)
        os.write(fd, data)
        return fd

    def submit(self):
        from System import TimeSpan
        self.ring.RunOnce(TimeSpan.Zero)


class FacadeTests(DotnetTestCase):
    def test_read_into_ownership_memory(self):
        from Uring import OwnershipMemory, OwnershipState
        data = os.urandom(8192)
        fd = self.temp_fd(data)
        buf = OwnershipMemory.Allocate(8192)
        self.addCleanup(buf.Dispose)
        result = dotnet.wait(self.ring.Read(dotnet.fd(fd), buf, 0))
        self.assertEqual(result.BytesTransferred, 8192)
        self.assertTrue(result.Buffer.Equals(buf))  # the same buffer comes back with the result
        self.assertEqual(buf.State, OwnershipState.User)
        self.assertEqual(bytes(buf.Memory.ToArray()), data)
        part = dotnet.wait(self.ring.Read(dotnet.fd(fd), buf, 4096, 100))
        self.assertEqual(bytes(buf.Memory.Slice(0, part.BytesTransferred).ToArray()), data[4096:4196])

    def test_touching_a_lent_buffer_raises_buffer_busy_exception(self):
        import System
        from Uring import BufferBusyException, OwnershipMemory, OwnershipState
        r, w = self.pipe()
        buf = OwnershipMemory.Allocate(64)
        future = self.ring.Read(dotnet.fd(r), buf, -1)
        self.submit()
        self.assertEqual(buf.State, OwnershipState.Kernel)
        for touch in (lambda: buf.Memory, buf.Dispose, lambda: self.ring.Read(dotnet.fd(r), buf, -1), lambda: buf.Slice(0, 8)):
            with self.assertRaises(BufferBusyException) as cm:
                touch()
            self.assertIsInstance(cm.exception, System.InvalidOperationException)
        os.write(w, b"data")
        self.assertEqual(dotnet.wait(future, timeout=5).BytesTransferred, 4)
        self.assertEqual(bytes(buf.Memory.Slice(0, 4).ToArray()), b"data")
        buf.Dispose()

    def test_cancel(self):
        import System
        from Uring import CancelOutcome, OwnershipMemory, OwnershipState
        r, w = self.pipe()
        buf = OwnershipMemory.Allocate(64)
        future = self.ring.Read(dotnet.fd(r), buf, -1)
        self.submit()
        self.assertEqual(dotnet.wait(future.Cancel(), timeout=5), CancelOutcome.Cancelled)
        with self.assertRaises(System.OperationCanceledException):
            dotnet.wait(future, timeout=5)
        # the façade released the buffer after the CQE; the cancelled read consumed nothing
        self.assertEqual(buf.State, OwnershipState.Released)
        os.write(w, b"later")
        self.assertEqual(os.read(r, 16), b"later")

    def test_errors_arrive_as_the_dotnet_exception_types(self):
        import System
        from Uring import OwnershipMemory, RingDisposedException, UringIOException
        r, w = self.pipe()
        closed = os.dup(r)
        os.close(closed)
        with self.assertRaises(UringIOException) as cm:
            dotnet.wait(self.ring.Read(dotnet.fd(closed), OwnershipMemory.Allocate(16), 0), timeout=5)
        self.assertEqual(cm.exception.Errno, errno.EBADF)
        self.assertEqual(str(cm.exception.Opcode), "IORING_OP_READ")
        self.assertIsInstance(cm.exception, System.IO.IOException)
        self.assertIsInstance(cm.exception, Exception)  # a Python exception too
        with self.assertRaises(System.ArgumentOutOfRangeException):
            self.ring.Read(dotnet.fd(-1), OwnershipMemory.Allocate(16), 0)  # refused synchronously
        with self.assertRaises(System.ArgumentException):
            self.ring.Read(dotnet.fd(r), OwnershipMemory.Allocate(16), 0, 17)  # longer than the buffer
        self.ring.Dispose()
        with self.assertRaises(RingDisposedException):
            self.ring.Nop()

    def test_fd_wraps_a_python_int(self):
        from Uring import FileDescriptor, OwnershipMemory
        r, w = self.pipe()
        with self.assertRaises(TypeError):  # "No method matches": Python.NET applies no implicit conversion
            self.ring.Read(r, OwnershipMemory.Allocate(16), -1)
        wrapped = dotnet.fd(r)
        self.assertIsInstance(wrapped, FileDescriptor)
        self.assertIn(str(r), str(wrapped))
        for bad, error in ((1.5, TypeError), ("3", TypeError), (True, TypeError), (1 << 31, OverflowError)):
            with self.assertRaises(error):
                dotnet.fd(bad)
        os.write(w, b"abc")
        self.assertEqual(dotnet.wait(self.ring.Read(wrapped, OwnershipMemory.Allocate(16), -1), timeout=5).BytesTransferred, 3)

    def test_span_is_unusable_memory_works(self):
        import System
        from Uring import OwnershipMemory
        buf = OwnershipMemory.Allocate(16)
        self.addCleanup(buf.Dispose)
        with self.assertRaises(System.NotSupportedException):
            buf.Span
        self.assertEqual(buf.Memory.Length, 16)


class WaitTests(DotnetTestCase):
    def ticks_while(self, block):
        """How often a Python thread that wakes every 5 ms ran while ``block()`` ran (not counting
        its first and last 50 ms, so that switching in and out of the call does not count)."""
        ticks, stop = [], threading.Event()

        def ticker():
            while not stop.wait(0.005):
                ticks.append(time.monotonic())

        t = threading.Thread(target=ticker)
        t.start()
        try:
            time.sleep(0.05)
            started = time.monotonic()
            block()
            ended = time.monotonic()
        finally:
            stop.set()
            t.join()
        self.assertGreater(ended - started, 0.3)
        return sum(started + 0.05 < tick < ended - 0.05 for tick in ticks)

    def test_wait_releases_the_gil(self):
        from System import TimeSpan
        future = self.ring.Timeout(TimeSpan.FromMilliseconds(400))
        ticks = self.ticks_while(lambda: dotnet.wait(future))
        self.assertGreater(ticks, 10)  # up to 60; none when the GIL is held (as Result does, below)

    def test_the_result_property_holds_the_gil(self):
        # Why wait() exists: a property getter keeps the GIL through a blocking wait.
        from System import TimeSpan
        future = self.ring.Timeout(TimeSpan.FromMilliseconds(400))
        self.assertEqual(self.ticks_while(lambda: future.Result), 0)

    def test_wait_with_a_timeout(self):
        from System import TimeSpan
        future = self.ring.Timeout(TimeSpan.FromSeconds(0.3))
        started = time.monotonic()
        with self.assertRaises(TimeoutError):
            dotnet.wait(future, timeout=0.05)
        self.assertLess(time.monotonic() - started, 0.25)
        self.assertTrue(dotnet.wait(future, timeout=5))  # the operation went on

    def test_ctrl_c_interrupts_a_wait(self):
        code = ("import sys, time; import uring.dotnet as d\n"
                "from Uring import Ring, RingThreading; from System import TimeSpan\n"
                "ring = Ring(d.options(Threading=RingThreading.CallerThread))\n"
                "print('waiting', flush=True); t = time.monotonic()\n"
                "try:\n    d.wait(ring.Timeout(TimeSpan.FromSeconds(30)))\n"
                "except KeyboardInterrupt:\n    print('interrupted', round(time.monotonic() - t), flush=True)\n"
                "ring.Dispose()\n")
        p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=PYTHON_DIR)
        try:
            self.assertEqual(p.stdout.readline(), "waiting\n")
            time.sleep(0.3)
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=60)
        finally:
            p.kill()
            p.wait()
        self.assertEqual(p.returncode, 0, err)
        self.assertRegex(out, r"^interrupted [0-2]\n$")


class AsyncioTests(unittest.TestCase):
    def setUp(self):
        require_dotnet(self)
        from Uring import Ring
        self.ring = Ring()  # DedicatedThread: the ring's own thread completes the operations
        self.addCleanup(self.ring.Dispose)

    def test_await_results_and_errors(self):
        from Uring import OwnershipMemory, UringIOException
        data = os.urandom(4096)
        fd, path = tempfile.mkstemp(prefix="uring-dotnet-test-")
        os.unlink(path)
        self.addCleanup(os.close, fd)
        os.write(fd, data)
        buf = OwnershipMemory.Allocate(4096)
        loop_thread = []

        async def main():
            loop_thread.append(threading.get_ident())
            self.assertEqual(await dotnet.to_asyncio(self.ring.Nop()), 0)
            result = await dotnet.to_asyncio(self.ring.Read(dotnet.fd(fd), buf, 0))
            self.assertEqual(bytes(buf.Memory.Slice(0, result.BytesTransferred).ToArray()), data)
            with self.assertRaises(UringIOException) as cm:
                await dotnet.to_asyncio(self.ring.Read(dotnet.fd(123456), OwnershipMemory.Allocate(16), 0))
            self.assertEqual(cm.exception.Errno, errno.EBADF)
            many = await asyncio.gather(*[dotnet.to_asyncio(self.ring.Nop()) for _ in range(100)])
            self.assertEqual(many, [0] * 100)

        asyncio.run(asyncio.wait_for(main(), 30))
        buf.Dispose()

    def test_cancelling_the_asyncio_future_cancels_in_the_kernel(self):
        from Uring import OwnershipMemory, OwnershipState
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        buf = OwnershipMemory.Allocate(64)

        async def main():
            with self.assertRaises(asyncio.TimeoutError):
                await asyncio.wait_for(dotnet.to_asyncio(self.ring.Read(dotnet.fd(r), buf, -1)), 0.1)
            for _ in range(500):  # the CQE of the cancelled read releases the buffer
                if buf.State == OwnershipState.Released:
                    break
                await asyncio.sleep(0.01)

        asyncio.run(main())
        self.assertEqual(buf.State, OwnershipState.Released)
        os.write(w, b"later")
        self.assertEqual(os.read(r, 16), b"later")  # the cancelled read consumed nothing


class AsyncioDriverTests(unittest.TestCase):
    """A CallerThread ring driven by the event loop through its eventfd."""

    def setUp(self):
        require_dotnet(self)

    def run_with_driver(self, body):
        from Uring import Ring, RingThreading

        async def main():
            ring = Ring(dotnet.options(Threading=RingThreading.CallerThread))  # owned by the loop's thread
            try:
                with dotnet.AsyncioDriver(ring) as driver:
                    return await body(ring, driver)
            finally:
                ring.Dispose()

        return asyncio.run(asyncio.wait_for(main(), 30))

    def test_results_errors_and_wake_ups_through_the_eventfd(self):
        from System import TimeSpan
        from Uring import OwnershipMemory, UringIOException
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)

        async def body(ring, driver):
            nop = driver.run(ring.Nop())
            self.assertTrue(nop.done())  # alone in flight and complete at once: no trip through the loop
            self.assertEqual(await nop, 0)
            self.assertEqual(await asyncio.gather(*[driver(ring.Nop()) for _ in range(50)]), [0] * 50)
            started = time.monotonic()
            self.assertTrue(await driver(ring.Timeout(TimeSpan.FromMilliseconds(100))))
            self.assertGreater(time.monotonic() - started, 0.09)
            # a read that completes later: only the eventfd can wake the loop for it
            buf = OwnershipMemory.Allocate(16)
            asyncio.get_running_loop().call_later(0.05, os.write, w, b"later")
            result = await asyncio.wait_for(driver(ring.Read(dotnet.fd(r), buf, -1)), 5)
            self.assertEqual(bytes(buf.Memory.Slice(0, result.BytesTransferred).ToArray()), b"later")
            with self.assertRaises(UringIOException) as cm:
                await driver(ring.Read(dotnet.fd(123456), OwnershipMemory.Allocate(16), 0))
            self.assertEqual(cm.exception.Errno, errno.EBADF)
            self.assertEqual(driver.in_flight, 0)

        self.run_with_driver(body)

    def test_operations_started_in_one_turn_are_submitted_together(self):
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)

        async def body(ring, driver):
            from Uring import OwnershipMemory
            before = ring.KernelEnterCalls
            reads = [driver(ring.Read(dotnet.fd(r), OwnershipMemory.Allocate(8), -1)) for _ in range(10)]
            await asyncio.sleep(0.05)
            self.assertLessEqual(ring.KernelEnterCalls - before, 4)  # not one (or more) per read
            os.write(w, b"x" * 80)
            self.assertEqual([res.BytesTransferred for res in await asyncio.gather(*reads)], [8] * 10)

        self.run_with_driver(body)

    def test_cancelling_cancels_in_the_kernel(self):
        from Uring import OwnershipMemory, OwnershipState
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        buf = OwnershipMemory.Allocate(16)

        async def body(ring, driver):
            with self.assertRaises(asyncio.TimeoutError):
                await asyncio.wait_for(driver(ring.Read(dotnet.fd(r), buf, -1)), 0.1)
            for _ in range(500):
                if buf.State == OwnershipState.Released:
                    break
                await asyncio.sleep(0.01)
            self.assertEqual(buf.State, OwnershipState.Released)
            self.assertEqual(driver.in_flight, 0)  # the cancel's own outcome was collected too

        self.run_with_driver(body)
        os.write(w, b"later")
        self.assertEqual(os.read(r, 16), b"later")  # the cancelled read consumed nothing

    def test_close_cancels_what_is_in_flight(self):
        from Uring import OwnershipMemory, OwnershipState, Ring, RingThreading
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        buf = OwnershipMemory.Allocate(16)

        async def main():
            ring = Ring(dotnet.options(Threading=RingThreading.CallerThread))
            try:
                driver = dotnet.AsyncioDriver(ring)
                pending = driver(ring.Read(dotnet.fd(r), buf, -1))
                await asyncio.sleep(0.01)
                driver.close()
                driver.close()  # idempotent
                self.assertTrue(pending.cancelled())
                with self.assertRaises(RuntimeError):
                    driver(ring.Nop())
                from System import TimeSpan
                for _ in range(100):  # the kernel's answer to the cancel arrives when the ring is driven
                    ring.RunOnce(TimeSpan.FromMilliseconds(10))
                    if buf.State == OwnershipState.Released:
                        break
                self.assertEqual(buf.State, OwnershipState.Released)
            finally:
                ring.Dispose()

        asyncio.run(main())
        os.write(w, b"later")
        self.assertEqual(os.read(r, 16), b"later")


class CoexistenceTests(RingTestCase):
    """``uring`` (ctypes over the C ABI) and ``uring.dotnet`` in one process share one runtime."""

    def setUp(self):
        super().setUp()
        require_dotnet(self)

    def test_one_runtime_one_facade(self):
        import System
        from System import AppDomain
        from System.Runtime.Loader import AssemblyLoadContext
        from Uring import OwnershipMemory
        self.assertEqual(System.Environment.ProcessId, os.getpid())
        assemblies = [a.GetName().Name for a in AppDomain.CurrentDomain.GetAssemblies()]
        for name in ("Uring.Scripting", "Python.Runtime"):
            self.assertIn(name, assemblies)
        self.assertEqual(assemblies.count("Uring.Core"), 1)  # one copy of the façade
        by_name = {a.GetName().Name: a for a in AppDomain.CurrentDomain.GetAssemblies()}
        context = AssemblyLoadContext.GetLoadContext(by_name["Uring.Scripting"])
        self.assertTrue(AssemblyLoadContext.GetLoadContext(by_name["Uring.Core"]).Equals(context))
        probe = OwnershipMemory.Allocate(1)  # the type `from Uring import` gave is that assembly's
        self.assertTrue(probe.GetType().Assembly.Equals(by_name["Uring.Core"]))
        probe.Dispose()
        # so the ctypes route's native-memory counters see what the dotnet route allocates
        before = uring.native_memory()
        buf = OwnershipMemory.Allocate(4096)
        during = uring.native_memory()
        buf.Dispose()
        after = uring.native_memory()
        self.assertEqual(during[1] - before[1], 1)
        self.assertGreaterEqual(during[0] - before[0], 4096)
        self.assertEqual(after, before)

    def test_both_routes_drive_rings_in_one_thread(self):
        from Uring import OwnershipMemory, RingThreading
        from Uring import Ring as DotnetRing
        data = os.urandom(4096)
        path = self.temp_file(data)
        fd = self.track_fd(os.open(path, os.O_RDONLY))
        other = DotnetRing(dotnet.options(Threading=RingThreading.CallerThread))
        try:
            dbuf = OwnershipMemory.Allocate(4096)
            with uring.Buffer(4096) as buf:
                f1 = self.ring.read(fd, buf, 0)
                f2 = other.Read(dotnet.fd(fd), dbuf, 0)
                self.assertEqual(dotnet.wait(f2, timeout=5).BytesTransferred, 4096)
                self.assertEqual(f1.result(5), 4096)
                self.assertEqual(buf.bytes(), data)
                self.assertEqual(bytes(dbuf.Memory.ToArray()), data)
            dbuf.Dispose()
        finally:
            other.Dispose()


class ProcessTests(unittest.TestCase):
    """Fresh interpreters: importing uring.dotnet first, exiting with work in flight, a broken install."""

    def setUp(self):
        require_dotnet(self)

    def test_import_first_then_clr_and_the_ctypes_route(self):
        code = ("import os, uring.dotnet, clr\n"
                "from Uring import Ring, OwnershipMemory\n"
                "import uring\n"
                "with uring.Ring(8) as ring:\n    print(ring.nop().result())\n"
                "r = Ring()\nr2, w = os.pipe()\n"
                "pending = r.Read(uring.dotnet.fd(r2), OwnershipMemory.Allocate(16), -1)  # in flight at exit\n"
                "print(uring.dotnet.wait(r.Nop()), 'ok')\n")
        p = run_python(code)
        self.assertEqual((p.returncode, p.stdout), (0, "0\n0 ok\n"), p.stderr)

    def test_exit_with_python_net_objects_alive(self):
        # Python.NET is shut down before the interpreter finalises; without that, a Python.NET
        # object freed during finalisation (here the bound overload) throws in .NET: an abort.
        code = ("import asyncio, os, uring.dotnet as d\n"
                "from System import Int32, TimeSpan\n"
                "from Uring import FileDescriptor, OwnershipMemory, Ring\n"
                "bound = FileDescriptor.op_Implicit.__overloads__[Int32]\n"
                "ring = Ring()\n"
                "r, w = os.pipe()\n"
                "reads = [ring.Read(bound(r), OwnershipMemory.Allocate(16), -1) for _ in range(4)]\n"
                "async def main():\n"
                "    return [d.to_asyncio(ring.Timeout(TimeSpan.FromMilliseconds(i))) for i in range(50)]\n"
                "pending = asyncio.run(main())  # their continuations run while the process exits\n"
                "print('bye')\n")
        p = run_python(code)
        self.assertEqual((p.returncode, p.stdout), (0, "bye\n"), p.stderr)

    def test_an_already_imported_clr_is_reused(self):
        # A Python.NET already running in this runtime (here: loaded by a first import of the
        # module, which is then forgotten) is used as it is, not initialised a second time.
        code = ("import sys, importlib, uring.dotnet\n"
                "first = sys.modules['clr']\n"
                "del sys.modules['uring.dotnet']\n"
                "again = importlib.import_module('uring.dotnet')\n"
                "from System import AppDomain\n"
                "names = [a.GetName().Name for a in AppDomain.CurrentDomain.GetAssemblies()]\n"
                "print(again.load() is first, names.count('Python.Runtime'), names.count('Uring.Core'))\n")
        p = run_python(code)
        self.assertEqual((p.returncode, p.stdout), (0, "True 1 1\n"), p.stderr)

    def test_a_missing_python_runtime_dll_is_a_hosting_error(self):
        from uring import _native
        with tempfile.TemporaryDirectory(prefix="uring-no-pythonnet-") as d:
            source = _native.load().assembly_dir
            for name in os.listdir(source):
                if name != "Python.Runtime.dll":
                    os.symlink(os.path.join(source, name), os.path.join(d, name))
            env = dict(os.environ, URING_SCRIPTING_DIR=d)
            p = run_python("import uring.dotnet", env=env)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("uring.errors.HostingError", p.stderr)
        self.assertIn("Python.Runtime.dll", p.stderr)
        self.assertIn("rebuild src/Scripting", p.stderr)


@unittest.skipIf(SUPPORTED, "Python.NET supports this Python")
class UnsupportedPythonTests(unittest.TestCase):
    def test_import_is_a_clear_hosting_error(self):
        import importlib
        with self.assertRaises(uring.HostingError) as cm:
            importlib.import_module("uring.dotnet")
        self.assertIn("needs Python 3.11 or later", str(cm.exception))
        self.assertNotIn("clr", sys.modules)  # nothing was loaded


if __name__ == "__main__":
    unittest.main()
