"""Binds the Uring.Scripting C ABI with ctypes, by one of two routes.

* **NativeAOT**: ``Uring.Scripting.so``, the C ABI compiled ahead of time into a shared library
  (the wheel carries it, with ``liburing-ffi.so.2``). Loaded with ``ctypes.CDLL``; every entry
  point is bound by its C symbol (``uring_*``). No .NET runtime is involved.
* **hostfxr**: ``Uring.Scripting.dll`` of a build, run by the .NET runtime started in-process
  through ``libhostfxr``; hostfxr resolves one entry point (``Export``), which resolves the others
  by name.

Where Uring.Scripting is looked for, first match wins:

1. ``$URING_SCRIPTING_DIR``: a folder holding ``Uring.Scripting.so`` (NativeAOT; a ``dotnet
   publish`` output) or ``Uring.Scripting.dll`` with its ``.runtimeconfig.json`` (hostfxr);
2. ``Uring.Scripting.so`` next to this package (an installed wheel);
3. the checkout's build output, ``src/Scripting/bin/Release/net10.0/``, then ``.../Debug/net10.0/``
   (hostfxr).

For the hostfxr route, the runtime: ``$DOTNET_ROOT``, then the folder of ``dotnet`` on ``PATH``
(symlinks resolved), then ``/usr/share/dotnet``, ``/usr/lib/dotnet``, ``~/.dotnet``; the newest
``host/fxr/<version>/libhostfxr.so`` in it.
"""

import ctypes
import os
import shutil
import threading
import time
from ctypes import POINTER, c_char_p, c_int, c_int64, c_size_t, c_uint32, c_uint64, c_void_p

import errno as _errno

from .errors import HostingError, UringStateError, make_error

ABI_VERSION = 3
PENDING = -(2 ** 31)  # Exports.Pending: a *Wait call returned before its operation completed
_TYPE_NAME = b"Uring.Scripting.Exports, Uring.Scripting"
_UNMANAGEDCALLERSONLY_METHOD = c_void_p(-1)  # (const char_t*)-1: the method is [UnmanagedCallersOnly]
_HDT_LOAD_ASSEMBLY_AND_GET_FUNCTION_POINTER = 5
AOT_LIBRARY = "Uring.Scripting.so"  # the NativeAOT build of src/Scripting (PublishAot, NativeLib=Shared)
LIBURING = "liburing-ffi.so.2"

_P = POINTER
# name -> (restype, argtypes) of the entry points that are not operations (src/Scripting/Exports*.cs);
# the operations' own are generated (_operations.SIGNATURES). Entry points that never block are also
# bound with PYFUNCTYPE (the GIL stays held: cheaper) under the name + "_nb"; RingClose (waits for
# in-flight CQEs) and Reap with a timeout release it.
_SIGNATURES = {
    "Version": (c_int, []),
    "LastErrorMessage": (c_int, [c_void_p, c_int, _P(c_int), _P(c_int)]),
    "NativeMemory": (c_int, [_P(c_int64), _P(c_int64)]),
    "RingCreate": (c_int, [c_uint32, c_int, c_int, _P(c_void_p), _P(c_int), _P(c_int)]),
    "SetReapBuffer": (c_int, [c_void_p, c_void_p, c_int]),
    "RingClose": (c_int, [c_void_p]),
    "RingFree": (c_int, [c_void_p]),
    "RingInfo": (c_int, [c_void_p, _P(c_uint32), _P(c_uint32), _P(c_uint32), _P(c_uint32)]),
    "RingInFlight": (c_int, [c_void_p]),
    "Submit": (c_int, [c_void_p]),
    "Reap": (c_int, [c_void_p, c_void_p, c_int, c_int]),
    "CompletionMessage": (c_int, [c_void_p, c_uint64, c_void_p, c_int]),
    "NopBatch": (c_int, [c_void_p, c_uint64, c_int]),
    "Cancel": (c_int, [c_void_p, c_uint64, c_uint64]),
    "StatxTake": (c_int, [c_void_p, c_uint64, c_void_p]),
    "DetailTake": (c_int, [c_void_p, c_uint64, c_void_p]),
    "ChainCreate": (c_int, [c_void_p, c_int, _P(c_void_p)]),
    "ChainSubmit": (c_int, [c_void_p]),
    "ChainFree": (c_int, [c_void_p]),
    "BufferRingCreate": (c_int, [c_void_p, c_int, c_int, _P(c_void_p)]),
    "BufferRingFree": (c_int, [c_void_p]),
    "LeaseTake": (c_int, [c_void_p, c_uint64]),
    "LeaseView": (c_int, [c_void_p, c_int, _P(c_void_p), _P(c_int)]),
    "LeaseRelease": (c_int, [c_void_p, c_int]),
    "StreamCancel": (c_int, [c_void_p, c_uint64]),
    "AcceptPauseTake": (c_int, [c_void_p, c_uint64, c_void_p]),
    "AcceptRetryNow": (c_int, [c_void_p, c_uint64]),
    "FileTableCreate": (c_int, [c_void_p, c_int, _P(c_void_p)]),
    "FileRegister": (c_int, [c_void_p, c_int]),
    "FileRelease": (c_int, [c_void_p, c_int]),
    "FileTableFree": (c_int, [c_void_p]),
    "BufferTableCreate": (c_int, [c_void_p, c_int, _P(c_void_p)]),
    "BufferTableAllocate": (c_int, [c_void_p, c_int, _P(c_void_p), _P(c_int)]),
    "BufferTableFree": (c_int, [c_void_p]),
    "BufferCreate": (c_int, [c_int, c_int, _P(c_void_p), _P(c_int)]),
    "BufferView": (c_int, [c_void_p, _P(c_void_p), _P(c_int)]),
    "BufferState": (c_int, [c_void_p]),
    "BufferRelease": (c_int, [c_void_p, c_int]),
}
_NON_BLOCKING = {"Reap", "Submit", "NopBatch", "Cancel", "StatxTake", "DetailTake", "ChainSubmit", "BufferView",
                 "BufferState", "LeaseTake", "LeaseView", "LeaseRelease", "StreamCancel", "RingInFlight",
                 "CompletionMessage", "AcceptPauseTake", "AcceptRetryNow"}


def signatures():
    """Every entry point's (restype, argtypes): the hand-written ones and the operations'."""
    from . import _operations  # (imported here: _operations imports buffer, which imports this module)
    return {**_SIGNATURES, **_operations.SIGNATURES}


def entry_points():
    """Export name -> C symbol (the EntryPoint of its [UnmanagedCallersOnly]): "uring_" + snake_case."""
    names = list(signatures()) + list(fast_entry_points())
    return {name: "uring_" + "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name)) for name in names}


def fast_entry_points():
    """The hot path: entry points whose arguments are all 32-bit ints, bound without argtypes
    (ctypes then converts plain ints directly: about half the cost per call of typed arguments
    here). Each operation's is bound twice: NAME keeps the GIL (it only starts the operation),
    NAME_wait releases it (called with wait_ms >= 0, it may wait). ReapI waits when given a timeout."""
    from . import _operations
    return {"ReapI": 2, **_operations.FAST}  # name -> number of int arguments


class _InitParameters(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("host_path", c_char_p), ("dotnet_root", c_char_p)]


def _repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _holds_assembly(d):
    return os.path.isfile(os.path.join(d, "Uring.Scripting.dll")) and os.path.isfile(os.path.join(d, "Uring.Scripting.runtimeconfig.json"))


def find_scripting():
    """("aot", path of Uring.Scripting.so) or ("hostfxr", folder of Uring.Scripting.dll), in the
    search order of this module's docstring."""
    env = os.environ.get("URING_SCRIPTING_DIR")
    if env:
        if os.path.isfile(os.path.join(env, AOT_LIBRARY)):
            return "aot", os.path.join(env, AOT_LIBRARY)
        if _holds_assembly(env):
            return "hostfxr", env
        raise HostingError(f"URING_SCRIPTING_DIR={env} holds neither {AOT_LIBRARY} nor Uring.Scripting.dll with its runtimeconfig.json")
    bundled = os.path.join(os.path.dirname(os.path.abspath(__file__)), AOT_LIBRARY)
    tried = [bundled]
    if os.path.isfile(bundled):
        return "aot", bundled
    root = _repo_root()
    for d in (os.path.join(root, "src", "Scripting", "bin", c, "net10.0") for c in ("Release", "Debug")):
        tried.append(d)
        if _holds_assembly(d):
            return "hostfxr", d
    raise HostingError("Uring.Scripting not found (tried: " + ", ".join(tried) + "). Install the wheel, build the "
                       "checkout with `dotnet build src/Scripting -c Release`, or set URING_SCRIPTING_DIR.")


def find_assembly_dir():
    """The folder holding Uring.Scripting (the .so of the NativeAOT route, or the dll and its runtimeconfig.json)."""
    mode, where = find_scripting()
    return os.path.dirname(where) if mode == "aot" else where


def _version_key(name):
    parts = []
    for p in name.replace("-", ".").split("."):
        parts.append((0, int(p)) if p.isdigit() else (-1, p))
    return parts


def find_hostfxr():
    """(dotnet_root, path of the newest libhostfxr.so)."""
    roots = []
    if os.environ.get("DOTNET_ROOT"):
        roots.append(os.environ["DOTNET_ROOT"])
    exe = shutil.which("dotnet")
    if exe:
        roots.append(os.path.dirname(os.path.realpath(exe)))
    roots += ["/usr/share/dotnet", "/usr/lib/dotnet", os.path.expanduser("~/.dotnet")]
    for root in roots:
        fxr = os.path.join(root, "host", "fxr")
        if not os.path.isdir(fxr):
            continue
        versions = sorted((v for v in os.listdir(fxr) if os.path.isfile(os.path.join(fxr, v, "libhostfxr.so"))), key=_version_key)
        if versions:
            return root, os.path.join(fxr, versions[-1], "libhostfxr.so")
    raise HostingError("No .NET runtime found (libhostfxr.so under DOTNET_ROOT, the dotnet on PATH, /usr/share/dotnet, /usr/lib/dotnet, ~/.dotnet).")


class Native:
    """The bound entry points (attributes named as in Exports.cs) and the error plumbing."""

    def __init__(self):
        started = time.perf_counter()
        #: "aot" (Uring.Scripting.so, no .NET runtime) or "hostfxr" (the runtime runs Uring.Scripting.dll)
        self.mode, where = find_scripting()
        #: the NativeAOT library's path (None on the hostfxr route)
        self.library = where if self.mode == "aot" else None
        #: the folder Uring.Scripting was found in (URING_SCRIPTING_DIR would name it)
        self.assembly_dir = os.path.dirname(where) if self.mode == "aot" else where
        self.dotnet_root = self.hostfxr_path = None
        if self.mode == "aot":
            resolve = self._load_aot(where)
        else:
            resolve = self._start_runtime(where)
        runtime_ready = time.perf_counter()

        from . import _operations
        for name, (restype, argtypes) in signatures().items():
            address = resolve(name)
            setattr(self, name, ctypes.CFUNCTYPE(restype, *argtypes)(address))
            if name in _NON_BLOCKING or name in _operations.SIGNATURES:
                setattr(self, name + "_nb", ctypes.PYFUNCTYPE(restype, *argtypes)(address))
        for name in fast_entry_points():
            address = resolve(name)
            if name == "ReapI":
                setattr(self, "ReapI", ctypes.CFUNCTYPE(c_int)(address))
                setattr(self, "ReapI_nb", ctypes.PYFUNCTYPE(c_int)(address))
            else:
                setattr(self, name, ctypes.PYFUNCTYPE(c_int)(address))
                setattr(self, name + "_wait", ctypes.CFUNCTYPE(c_int)(address))
        #: seconds spent loading the code (the NativeAOT library, or hostfxr and the runtime) and binding
        #: the entry points (on the hostfxr route this loads the assemblies)
        self.startup = {"runtime": runtime_ready - started, "bind": time.perf_counter() - runtime_ready}
        if self.Version() != ABI_VERSION:
            raise HostingError(f"Uring.Scripting ABI version {self.Version()}, this package expects {ABI_VERSION}; rebuild or republish src/Scripting")
        self._msg = ctypes.create_string_buffer(1024)

    def _load_aot(self, path):
        """Loads the NativeAOT library; returns name -> address, by the entry point's C symbol."""
        # The library loads liburing-ffi.so.2 by name at its first ring (unless URING_LIBURING_PATH
        # names one): the copy beside it, loaded here by path, answers that name, whatever
        # LD_LIBRARY_PATH or the system's loader path may hold.
        liburing = os.path.join(os.path.dirname(path), LIBURING)
        try:
            self._liburing = ctypes.CDLL(liburing) if os.path.isfile(liburing) else None
            self._library = ctypes.CDLL(path)
        except OSError as e:
            raise HostingError(f"could not load {path}: {e}") from e
        symbols = entry_points()

        def resolve(name):
            try:
                return ctypes.cast(self._library[symbols[name]], c_void_p).value
            except AttributeError:
                raise HostingError(f"{path} has no symbol {symbols[name]} (entry point {name}): publish src/Scripting again") from None
        return resolve

    def _start_runtime(self, assembly_dir):
        """Starts the .NET runtime through hostfxr and loads the assembly; returns name -> address,
        through the assembly's Export entry point."""
        self.dotnet_root, self.hostfxr_path = find_hostfxr()
        assembly = os.path.join(assembly_dir, "Uring.Scripting.dll")
        config = os.path.join(assembly_dir, "Uring.Scripting.runtimeconfig.json")

        fxr = ctypes.CDLL(self.hostfxr_path)
        init = fxr.hostfxr_initialize_for_runtime_config
        init.restype = c_int
        init.argtypes = [c_char_p, POINTER(_InitParameters), POINTER(c_void_p)]
        get_delegate = fxr.hostfxr_get_runtime_delegate
        get_delegate.restype = c_int
        get_delegate.argtypes = [c_void_p, c_int, POINTER(c_void_p)]
        close = fxr.hostfxr_close
        close.restype = c_int
        close.argtypes = [c_void_p]

        params = _InitParameters(ctypes.sizeof(_InitParameters), None, os.fsencode(self.dotnet_root))
        handle = c_void_p()
        rc = init(os.fsencode(config), ctypes.byref(params), ctypes.byref(handle))
        # 0 Success, 1 Success_HostAlreadyInitialized, 2 Success_DifferentRuntimeProperties
        if rc < 0 or rc > 2 or not handle.value:
            raise HostingError(f"hostfxr_initialize_for_runtime_config({config}) failed: 0x{rc & 0xFFFFFFFF:08x}")
        try:
            load_ptr = c_void_p()
            rc = get_delegate(handle, _HDT_LOAD_ASSEMBLY_AND_GET_FUNCTION_POINTER, ctypes.byref(load_ptr))
            if rc != 0 or not load_ptr.value:
                raise HostingError(f"hostfxr_get_runtime_delegate failed: 0x{rc & 0xFFFFFFFF:08x}")
        finally:
            close(handle)
        load = ctypes.CFUNCTYPE(c_int, c_char_p, c_char_p, c_char_p, c_void_p, c_void_p, POINTER(c_void_p))(load_ptr.value)

        # hostfxr resolves one entry point (loading the assembly); that one resolves the others.
        fn = c_void_p()
        rc = load(os.fsencode(assembly), _TYPE_NAME, b"Export", _UNMANAGEDCALLERSONLY_METHOD, None, ctypes.byref(fn))
        if rc != 0 or not fn.value:
            raise HostingError(f"load_assembly_and_get_function_pointer(Export) in {assembly} failed: 0x{rc & 0xFFFFFFFF:08x}")
        export = ctypes.CFUNCTYPE(c_int, c_char_p, POINTER(c_void_p))(fn.value)

        def resolve(name):
            address = c_void_p()
            if export(name.encode(), ctypes.byref(address)) != 0 or not address.value:
                raise HostingError(f"Uring.Scripting has no entry point {name}: rebuild src/Scripting")
            return address.value
        return resolve

    def last_error(self, opcode=None):
        """The exception for the calling thread's last error."""
        kind, err = c_int(), c_int()
        n = self.LastErrorMessage(self._msg, len(self._msg), ctypes.byref(kind), ctypes.byref(err))
        if n > len(self._msg):
            self._msg = ctypes.create_string_buffer(n)
            n = self.LastErrorMessage(self._msg, n, ctypes.byref(kind), ctypes.byref(err))
        return make_error(kind.value, err.value, self._msg.raw[:n].decode("utf-8", "replace"), opcode)

    def check(self, rc, opcode=None):
        if rc < 0:
            raise self.last_error(opcode)
        return rc

    def native_memory(self):
        """(live bytes, live allocations) of the façade's native memory."""
        b, a = c_int64(), c_int64()
        self.check(self.NativeMemory(ctypes.byref(b), ctypes.byref(a)))
        return b.value, a.value


_lock = threading.Lock()
_native = None
_forked_from = None  # the pid that had loaded .NET, in a forked child


class ForkedChildError(UringStateError):
    """uring was loaded before this process was forked: the child cannot use it."""


def _refuse_in_child(*args, **kwargs):
    raise ForkedChildError(
        _errno.ENOTSUP,
        f"uring cannot be used in a process forked from one that had loaded it (pid {_forked_from}): the .NET "
        "runtime does not survive fork(), and running it in the child could corrupt the parent's code pages. "
        "Use a fresh process (multiprocessing's 'spawn' or 'forkserver' start method, or subprocess).")


def _after_fork_in_child():
    """fork() copied a loaded runtime: make every entry point refuse, so that nothing in the child
    — a call, a ring's close at exit, a buffer's finaliser — runs .NET code."""
    global _forked_from
    if _native is None:
        return
    _forked_from = os.getppid()
    for name in list(vars(_native)):
        if callable(getattr(_native, name)) and isinstance(getattr(_native, name), ctypes._CFuncPtr):
            setattr(_native, name, _refuse_in_child)
    for listener in list(_fork_listeners):
        listener()


_fork_listeners = []  # callables run in a forked child after the entry points are disabled

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def load():
    """The process-wide Native (loaded once, on first use)."""
    global _native
    if _forked_from is not None:
        _refuse_in_child()
    if _native is None:
        with _lock:
            if _native is None:
                _native = Native()
    return _native
