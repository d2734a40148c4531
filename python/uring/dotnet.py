"""The whole C# façade in Python, through Python.NET.

    import uring.dotnet                       # starts .NET and Python.NET; then `import clr` works
    from Uring import Ring, OwnershipMemory, RingThreading

    with Ring(uring.dotnet.options(Threading=RingThreading.CallerThread)) as ring, \
            OwnershipMemory.Allocate(4096) as buf:
        n = uring.dotnet.wait(ring.Read(uring.dotnet.fd(fd), buf, 0)).BytesTransferred

Importing this module loads the .NET runtime the way ``uring`` does (the same runtime: one per
process, shared with ``uring.Ring``), then Python.NET's ``Python.Runtime.dll`` (copied next to
``Uring.Scripting.dll`` from NuGet's ``pythonnet`` package), bound to the running interpreter.
The Python half of pythonnet (on PyPI) is not needed. ``Uring.Core`` is loaded into the same
assembly load context as the C ABI behind ``uring``, so both routes use one copy of the façade
(one set of native-memory counters, one liburing).

What Python.NET does and does not do (see docs/python.md):

* a .NET *method* call releases the GIL while it runs; a *property* getter holds it, so a
  blocking ``future.Result`` stops every other Python thread: use :func:`wait`;
* ``await`` on a .NET awaitable does not work: :class:`AsyncioDriver` lets an event loop drive a
  CallerThread ring through its eventfd (no thread), and :func:`to_asyncio` turns a future of a
  ring with its own thread into an asyncio future;
* ``Span<T>`` cannot cross into Python (``OwnershipMemory.Span`` raises ``NotSupportedException``);
  ``Memory<T>`` works: ``bytes(buf.Memory.Slice(0, n).ToArray())``;
* C#'s implicit conversions are not applied: an operation's ``FileDescriptor`` parameter needs
  :func:`fd` around a Python int;
* .NET exceptions arrive as Python exceptions of the .NET types (``Uring.BufferBusyException``,
  ``Uring.UringIOException`` with ``.Errno``, ``System.OperationCanceledException``...).
"""

import atexit
import ctypes
import os
import sys
import threading
import time
from ctypes import POINTER, c_char_p, c_int, c_void_p

from . import _native
from .errors import HostingError

__all__ = ["load", "fd", "options", "wait", "to_asyncio", "AsyncioDriver"]

_LOADER_TYPE = b"Python.Runtime.Loader, Python.Runtime"
_OLDEST_PYTHON = (3, 11)  # the oldest ABI Python.NET 3.2 knows
_FACADE_ASSEMBLIES = ("Uring.Bindings", "Uring.Core")
_WAIT_SLICE = 0.2  # seconds: the longest wait inside .NET before Python can act on Ctrl-C

_lock = threading.Lock()
_clr = None
_net = None  # the .NET types the helpers use, imported once by load()


def _start_python_net(native):
    """Loads Python.Runtime.dll into the runtime ``uring`` started and binds it to this interpreter."""
    dll = os.path.join(native.assembly_dir, "Python.Runtime.dll")
    fxr = ctypes.CDLL(native.hostfxr_path)
    get_delegate = fxr.hostfxr_get_runtime_delegate
    get_delegate.restype = c_int
    get_delegate.argtypes = [c_void_p, c_int, POINTER(c_void_p)]
    # No host context handle: hostfxr answers for the runtime that is already running.
    load_ptr = c_void_p()
    rc = get_delegate(None, _native._HDT_LOAD_ASSEMBLY_AND_GET_FUNCTION_POINTER, ctypes.byref(load_ptr))
    if rc != 0 or not load_ptr.value:
        raise HostingError(f"hostfxr_get_runtime_delegate for the running runtime failed: 0x{rc & 0xFFFFFFFF:08x}")
    load_assembly = ctypes.CFUNCTYPE(c_int, c_char_p, c_char_p, c_char_p, c_void_p, c_void_p, POINTER(c_void_p))(load_ptr.value)
    fn = c_void_p()
    # delegate type NULL: the method has the default signature int (IntPtr args, int size)
    rc = load_assembly(dll.encode(), _LOADER_TYPE, b"Initialize", None, None, ctypes.byref(fn))
    if rc != 0 or not fn.value:
        raise HostingError(f"cannot load Python.Runtime.Loader.Initialize from {dll} (0x{rc & 0xFFFFFFFF:08x}): "
                           "rebuild src/Scripting, which copies it from the pythonnet NuGet package")
    shutdown = c_void_p()
    rc = load_assembly(dll.encode(), _LOADER_TYPE, b"Shutdown", None, None, ctypes.byref(shutdown))
    if rc != 0 or not shutdown.value:
        raise HostingError(f"cannot load Python.Runtime.Loader.Shutdown from {dll} (0x{rc & 0xFFFFFFFF:08x})")
    # An empty path: Python.NET binds to the interpreter already running in this process.
    if ctypes.PYFUNCTYPE(c_int, c_char_p, c_int)(fn.value)(b"", 0) != 0:
        raise HostingError("Python.Runtime.Loader.Initialize failed (its error is printed above)")
    # Python.NET must shut down while the interpreter still runs: objects of its types that are
    # freed during the interpreter's finalisation otherwise throw in .NET (an abort on 3.13).
    atexit.register(_shutdown_python_net, ctypes.PYFUNCTYPE(c_int, c_char_p, c_int)(shutdown.value))


def _shutdown_python_net(shutdown):
    command = b"full_shutdown"
    if shutdown(command, len(command)) != 0:
        sys.stderr.write("uring.dotnet: Python.Runtime.Loader.Shutdown failed (its error is printed above)\n")


def _bind_facade():
    """Loads the façade's assemblies next to Uring.Scripting, so that `import Uring` finds them."""
    from System import AppDomain
    from System.Reflection import AssemblyName
    from System.Runtime.Loader import AssemblyLoadContext

    scripting = [a for a in AppDomain.CurrentDomain.GetAssemblies() if a.GetName().Name == "Uring.Scripting"]
    if not scripting:
        raise HostingError("Python.NET runs on another .NET runtime than uring's (Uring.Scripting is not loaded "
                           "in it); import uring.dotnet before anything else loads Python.NET")
    context = AssemblyLoadContext.GetLoadContext(scripting[0])
    for name in _FACADE_ASSEMBLIES:
        context.LoadFromAssemblyName(AssemblyName(name))


def load():
    """Starts .NET and Python.NET once per process (importing this module does it); returns ``clr``."""
    global _clr
    if _clr is None:
        with _lock:
            if _clr is None:
                if sys.version_info < _OLDEST_PYTHON:
                    raise HostingError(f"uring.dotnet needs Python {_OLDEST_PYTHON[0]}.{_OLDEST_PYTHON[1]} or later (Python.NET 3.2 "
                                       f"supports no older ABI); this is {sys.version.split()[0]}. The ctypes route, "
                                       "`import uring`, works here.")
                native = _native.load()
                if native.mode != "hostfxr":
                    raise HostingError(
                        "uring.dotnet needs the .NET runtime, but uring is using its NativeAOT library "
                        f"({native.library}), which has none (the wheel carries only that one). Set "
                        "URING_SCRIPTING_DIR to a build of src/Scripting (dotnet build src/Scripting -c Release) "
                        "to use the C# API through Python.NET; `import uring` works as it is.")
                if "clr" not in sys.modules:
                    _start_python_net(native)
                import clr
                _bind_facade()
                _import_types()
                _clr = clr
    return _clr


def _import_types():
    global _net
    import types
    from System import Action, Int32, InvalidOperationException, TimeSpan
    from System.Threading.Tasks import Task
    from Uring import FileDescriptor
    _net = types.SimpleNamespace(Action=Action, InvalidOperationException=InvalidOperationException, Task=Task,
                                 TimeSpan=TimeSpan, ZERO=TimeSpan.Zero, WAIT_SLICE=TimeSpan.FromSeconds(_WAIT_SLICE))
    _net.TaskAction = Action[Task]
    # The int overload of FileDescriptor's implicit conversion, bound once (choosing among the
    # overloads at every call costs about 20 µs; the bound one about 1 µs).
    _net.fd_from_int = FileDescriptor.op_Implicit.__overloads__[Int32]


def fd(number):
    """The ``Uring.FileDescriptor`` for a file descriptor number.

    The façade's operations take a ``FileDescriptor``, which C# converts implicitly from an
    ``int``; Python.NET does not apply C#'s implicit conversions, so a Python int must be wrapped:
    ``ring.Read(dotnet.fd(f.fileno()), buf, 0)``. Wrap once and reuse the value.
    """
    if not isinstance(number, int) or isinstance(number, bool):
        raise TypeError(f"a file descriptor number is an int, not {type(number).__name__}")
    if not -(1 << 31) <= number < 1 << 31:
        raise OverflowError(f"fd {number} does not fit in a C int")
    return _net.fd_from_int(number)


def options(**properties):
    """A ``Uring.RingOptions`` with the given properties set (Python.NET has no object initialisers):
    ``Ring(options(Threading=RingThreading.CallerThread, Entries=64))``."""
    from Uring import RingOptions
    result = RingOptions()
    for name, value in properties.items():
        if not hasattr(result, name):
            raise TypeError(f"RingOptions has no property {name!r}")
        setattr(result, name, value)
    return result


def wait(future, timeout=None):
    """Waits for a ``CancelableFuture`` and returns its result, raising what it ended with.

    Unlike ``future.Result`` (a property, so Python.NET holds the GIL through the whole wait) it
    waits through ``future.Wait(TimeSpan)``, a method, which releases the GIL, in slices of at most
    0.2 s so that Ctrl-C raises ``KeyboardInterrupt``. On the ring's owner thread the wait drives
    a CallerThread ring. With ``timeout`` (seconds), raises ``TimeoutError`` if the operation has
    not completed by then; it goes on, and the future can be waited for again.
    """
    if timeout is None:
        slice_ = _net.WAIT_SLICE
        while not future.Wait(slice_):
            pass
    else:
        deadline = time.monotonic() + timeout
        while not future.Wait(_net.TimeSpan.FromSeconds(max(0.0, min(_WAIT_SLICE, deadline - time.monotonic())))):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the operation did not complete within {timeout} s")
    return future.Result


def to_asyncio(future, loop=None):
    """An ``asyncio.Future`` for a ``CancelableFuture``: ``await uring.dotnet.to_asyncio(ring.Nop())``.

    The ring must complete operations by itself, i.e. run its own thread (``RingThreading.
    DedicatedThread``, the default): a CallerThread ring makes progress only while its owner
    waits, and the event loop does not (use :class:`AsyncioDriver` for one). The result is set on
    the loop's thread; a failure is the .NET exception. Cancelling the asyncio future cancels the
    operation in the kernel; like every façade operation it still ends only with its CQE, and a
    buffer it held is released then. Each operation costs a hop through the .NET thread pool,
    whose thread must take the GIL: far slower than :class:`AsyncioDriver`.
    """
    import asyncio
    InvalidOperationException = _net.InvalidOperationException

    loop = loop if loop is not None else asyncio.get_running_loop()
    task = future.AsTask()  # consumes the CancelableFuture's result; the Task holds it
    result = loop.create_future()

    def settle():  # on the loop's thread
        try:
            value = task.GetAwaiter().GetResult()  # completed: returns at once, or raises the operation's exception
        except BaseException as e:
            if not result.done():
                result.set_exception(e)
            return
        if not result.done():
            result.set_result(value)

    def completed(_):  # on a .NET thread-pool thread, which Python.NET gives the GIL for this call
        try:
            loop.call_soon_threadsafe(settle)
        except RuntimeError:
            pass  # the loop was closed: nobody is waiting any more

    def cancel_in_kernel(f):
        if f.cancelled() and not task.IsCompleted:
            try:
                future.Cancel()
            except InvalidOperationException:
                pass  # it completed meanwhile

    # Not ExecuteSynchronously: the continuation must not run on the ring's own thread, which
    # would then wait for the GIL while a Python thread may be waiting for the ring.
    task.ContinueWith(_net.TaskAction(completed))
    result.add_done_callback(cancel_in_kernel)
    return result


class AsyncioDriver:
    """Lets an asyncio event loop drive a CallerThread ``Ring`` that its thread owns, without a thread.

        ring = Ring(options(Threading=RingThreading.CallerThread))   # on the loop's thread
        with AsyncioDriver(ring) as driver:
            result = await driver.run(ring.Read(fd(n), buf, 0))

    An eventfd is registered with the ring (``Ring.RegisterEventFd``: the kernel signals it when it
    posts a completion) and watched with ``loop.add_reader``. Operations started during one turn
    of the loop are submitted together with one ``Ring.RunOnce`` at the end of it (one started
    while nothing else is in flight is submitted at once); each wake-up of the eventfd reaps
    everything ready and settles the futures that completed. Cancelling the
    asyncio future cancels the operation in the kernel; it still ends only with its CQE.
    Create the driver, start the operations and ``close()`` it on the loop's thread (the ring's
    owner). ``close()`` cancels what is still in flight: the asyncio futures at once, the
    operations in the kernel (their buffers come back with their CQEs, when the ring is next
    driven or disposed).
    """

    def __init__(self, ring, loop=None):
        import asyncio
        self._ring = ring
        self._loop = loop if loop is not None else asyncio.get_running_loop()
        self._pending = []  # (CancelableFuture, asyncio.Future or None: consume and drop)
        self._kick_scheduled = False
        self._eventfd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        try:
            ring.RegisterEventFd(self._eventfd)
            self._loop.add_reader(self._eventfd, self._on_eventfd)
        except BaseException:
            os.close(self._eventfd)
            raise

    def run(self, future):
        """The ``asyncio.Future`` of a ``CancelableFuture`` of this driver's ring."""
        if self._eventfd is None:
            raise RuntimeError("this AsyncioDriver was closed")
        result = self._loop.create_future()
        self._pending.append((future, result))
        if len(self._pending) == 1:
            # Alone in flight: submit now. One that completes at once (a NOP, a cached read) is
            # then done before the caller awaits it, which costs no trip through the loop.
            self._drive()
        else:
            self._kick()  # submitted together with the others started in this turn of the loop
        if not result.done():
            result.add_done_callback(lambda f, future=future: self._cancelled(f, future))
        return result

    __call__ = run

    @property
    def in_flight(self):
        """Operations whose outcome has not been collected yet (cancel requests included)."""
        return len(self._pending)

    def close(self):
        """Cancels what is in flight and stops watching the ring (idempotent)."""
        if self._eventfd is None:
            return
        efd, self._eventfd = self._eventfd, None
        pending, self._pending = self._pending, []
        try:
            if not self._ring.IsDisposed:
                for future, result in pending:
                    if result is not None:
                        result.cancel()
                        try:
                            future.Cancel()
                        except _net.InvalidOperationException:
                            pass  # completed, not collected yet
                self._ring.RunOnce(_net.ZERO)  # submits the cancels
                self._ring.UnregisterEventFd()
            else:
                for _, result in pending:
                    if result is not None:
                        result.cancel()
        finally:
            if not self._loop.is_closed():
                self._loop.remove_reader(efd)
            os.close(efd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _kick(self):
        if not self._kick_scheduled:
            self._kick_scheduled = True
            self._loop.call_soon(self._drive)

    def _on_eventfd(self):
        try:
            os.read(self._eventfd, 8)
        except BlockingIOError:
            pass
        self._drive()

    def _drive(self):
        self._kick_scheduled = False
        if not self._pending or self._eventfd is None or self._ring.IsDisposed:
            return
        self._ring.RunOnce(_net.ZERO)  # submits what was started, reaps what is ready
        still = []
        for future, result in self._pending:
            if not future.IsCompleted:
                still.append((future, result))
                continue
            try:
                value = future.Result  # completed: returns at once, or raises the operation's exception
            except BaseException as e:
                if result is not None and not result.done():
                    result.set_exception(e)
                continue
            if result is not None and not result.done():
                result.set_result(value)
        self._pending = still

    def _cancelled(self, result, future):
        if not result.cancelled() or self._eventfd is None:
            return
        try:
            self._pending.append((future.Cancel(), None))  # the cancel's own outcome is dropped
        except _net.InvalidOperationException:
            return  # it completed (and was collected) meanwhile
        self._kick()


load()
