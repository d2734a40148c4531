"""The whole C# façade in Python, through Python.NET.

    import uring.dotnet                       # starts .NET and Python.NET; then `import clr` works
    from Uring import Ring, OwnershipMemory, RingThreading

    with Ring(uring.dotnet.options(Threading=RingThreading.CallerThread)) as ring, \
            OwnershipMemory.Allocate(4096) as buf:
        n = uring.dotnet.wait(ring.Read(fd, buf, 0)).BytesTransferred

Importing this module loads the .NET runtime the way ``uring`` does (the same runtime: one per
process, shared with ``uring.Ring``), then Python.NET's ``Python.Runtime.dll`` (copied next to
``Uring.Scripting.dll`` from NuGet's ``pythonnet`` package), bound to the running interpreter.
The Python half of pythonnet (on PyPI) is not needed. ``Uring.Core`` is loaded into the same
assembly load context as the C ABI behind ``uring``, so both routes use one copy of the façade
(one set of native-memory counters, one liburing).

What Python.NET does and does not do (see docs/python.md):

* a .NET *method* call releases the GIL while it runs; a *property* getter holds it, so a
  blocking ``future.Result`` stops every other Python thread: use :func:`wait`;
* ``await`` on a .NET awaitable does not work: :func:`to_asyncio` turns a future into an asyncio
  future;
* ``Span<T>`` cannot cross into Python (``OwnershipMemory.Span`` raises ``NotSupportedException``);
  ``Memory<T>`` works: ``bytes(buf.Memory.Slice(0, n).ToArray())``;
* .NET exceptions arrive as Python exceptions of the .NET types (``Uring.BufferBusyException``,
  ``Uring.UringIOException`` with ``.Errno``, ``System.OperationCanceledException``...).
"""

import ctypes
import os
import sys
import threading
import time
from ctypes import POINTER, c_char_p, c_int, c_void_p

from . import _native
from .errors import HostingError

__all__ = ["load", "options", "wait", "to_asyncio"]

_LOADER_TYPE = b"Python.Runtime.Loader, Python.Runtime"
_OLDEST_PYTHON = (3, 11)  # the oldest ABI Python.NET 3.2 knows
_FACADE_ASSEMBLIES = ("Uring.Bindings", "Uring.Core")
_WAIT_SLICE = 0.2  # seconds: the longest wait inside .NET before Python can act on Ctrl-C

_lock = threading.Lock()
_clr = None


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
    # An empty path: Python.NET binds to the interpreter already running in this process.
    if ctypes.PYFUNCTYPE(c_int, c_char_p, c_int)(fn.value)(b"", 0) != 0:
        raise HostingError("Python.Runtime.Loader.Initialize failed (its error is printed above)")


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
                if "clr" not in sys.modules:
                    _start_python_net(native)
                import clr
                _bind_facade()
                _clr = clr
    return _clr


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
    from System import TimeSpan
    if timeout is None:
        slice_ = TimeSpan.FromSeconds(_WAIT_SLICE)
        while not future.Wait(slice_):
            pass
    else:
        deadline = time.monotonic() + timeout
        while not future.Wait(TimeSpan.FromSeconds(max(0.0, min(_WAIT_SLICE, deadline - time.monotonic())))):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the operation did not complete within {timeout} s")
    return future.Result


def to_asyncio(future, loop=None):
    """An ``asyncio.Future`` for a ``CancelableFuture``: ``await uring.dotnet.to_asyncio(ring.Nop())``.

    The ring must complete operations by itself, i.e. run its own thread (``RingThreading.
    DedicatedThread``, the default): a CallerThread ring makes progress only while its owner
    waits, and the event loop does not. The result is set on the loop's thread; a failure is the
    .NET exception. Cancelling the asyncio future cancels the operation in the kernel; like every
    façade operation it still ends only with its CQE, and a buffer it held is released then.
    """
    import asyncio
    from System import Action, InvalidOperationException
    from System.Threading.Tasks import Task

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
    task.ContinueWith(Action[Task](completed))
    result.add_done_callback(cancel_in_kernel)
    return result


load()
