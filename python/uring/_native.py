"""Loads the .NET runtime in-process (libhostfxr) and binds the Uring.Scripting C ABI with ctypes.

Where things are looked for:

* the assemblies: ``$URING_SCRIPTING_DIR`` (the folder holding ``Uring.Scripting.dll`` and its
  ``.runtimeconfig.json``), then the repository's ``src/Scripting/bin/Release/net10.0/``,
  then ``.../Debug/net10.0/``;
* the runtime: ``$DOTNET_ROOT``, then the folder of ``dotnet`` on ``PATH`` (symlinks resolved),
  then ``/usr/share/dotnet``, ``/usr/lib/dotnet``, ``~/.dotnet``; the newest
  ``host/fxr/<version>/libhostfxr.so`` in it.
"""

import ctypes
import os
import shutil
import threading
import time
from ctypes import POINTER, c_char_p, c_int, c_int64, c_size_t, c_uint32, c_uint64, c_void_p

from .errors import HostingError, make_error

ABI_VERSION = 2
PENDING = -(2 ** 31)  # Exports.Pending: a *Wait call returned before its operation completed
_TYPE_NAME = b"Uring.Scripting.Exports, Uring.Scripting"
_UNMANAGEDCALLERSONLY_METHOD = c_void_p(-1)  # (const char_t*)-1: the method is [UnmanagedCallersOnly]
_HDT_LOAD_ASSEMBLY_AND_GET_FUNCTION_POINTER = 5

_P = POINTER
# name -> (restype, argtypes); see src/Scripting/Exports.cs for each one's contract.
# Entry points that never block are also bound with PYFUNCTYPE (the GIL stays held: cheaper)
# under the name + "_nb"; RingClose (waits for in-flight CQEs) and Reap with a timeout release it.
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
    "Nop": (c_int, [c_void_p, c_uint64]),
    "NopBatch": (c_int, [c_void_p, c_uint64, c_int]),
    "Read": (c_int, [c_void_p, c_uint64, c_int, c_void_p, c_int64, c_int, c_int64]),
    "Write": (c_int, [c_void_p, c_uint64, c_int, c_void_p, c_int64, c_int]),
    "OpenAt": (c_int, [c_void_p, c_uint64, c_int, c_char_p, c_int, c_uint32]),
    "Close": (c_int, [c_void_p, c_uint64, c_int]),
    "Statx": (c_int, [c_void_p, c_uint64, c_int, c_char_p, c_int, c_uint32]),
    "StatxTake": (c_int, [c_void_p, c_uint64, c_void_p]),
    "Fsync": (c_int, [c_void_p, c_uint64, c_int, c_int]),
    "Timeout": (c_int, [c_void_p, c_uint64, c_int64, c_uint32]),
    "Cancel": (c_int, [c_void_p, c_uint64, c_uint64]),
    "ReadV": (c_int, [c_void_p, c_uint64, c_int, c_void_p, c_int, c_int64]),
    "WriteV": (c_int, [c_void_p, c_uint64, c_int, c_void_p, c_int, c_int64]),
    "Fallocate": (c_int, [c_void_p, c_uint64, c_int, c_int64, c_int64, c_int]),
    "Splice": (c_int, [c_void_p, c_uint64, c_int, c_int64, c_int, c_int64, c_int, c_uint32]),
    "Tee": (c_int, [c_void_p, c_uint64, c_int, c_int, c_int, c_uint32]),
    "PollAdd": (c_int, [c_void_p, c_uint64, c_int, c_uint32]),
    "ChainCreate": (c_int, [c_void_p, c_int, _P(c_void_p)]),
    "ChainNop": (c_int, [c_void_p, c_void_p, c_uint64]),
    "ChainRead": (c_int, [c_void_p, c_void_p, c_uint64, c_int, c_void_p, c_int64, c_int]),
    "ChainWrite": (c_int, [c_void_p, c_void_p, c_uint64, c_int, c_void_p, c_int64, c_int]),
    "ChainFsync": (c_int, [c_void_p, c_void_p, c_uint64, c_int, c_int]),
    "ChainTimeout": (c_int, [c_void_p, c_void_p, c_uint64, c_int64, c_int]),
    "ChainSubmit": (c_int, [c_void_p]),
    "ChainFree": (c_int, [c_void_p]),
    "Socket": (c_int, [c_void_p, c_uint64, c_int, c_int, c_int]),
    "Bind": (c_int, [c_void_p, c_uint64, c_int, c_char_p, c_int]),
    "Listen": (c_int, [c_void_p, c_uint64, c_int, c_int]),
    "Accept": (c_int, [c_void_p, c_uint64, c_int]),
    "Connect": (c_int, [c_void_p, c_uint64, c_int, c_char_p, c_int]),
    "Send": (c_int, [c_void_p, c_uint64, c_int, c_void_p, c_int, c_int]),
    "SendZeroCopy": (c_int, [c_void_p, c_uint64, c_int, c_void_p, c_int, c_int]),
    "Recv": (c_int, [c_void_p, c_uint64, c_int, c_void_p, c_int, c_int]),
    "Shutdown": (c_int, [c_void_p, c_uint64, c_int, c_int]),
    "BufferRingCreate": (c_int, [c_void_p, c_int, c_int, _P(c_void_p)]),
    "BufferRingFree": (c_int, [c_void_p]),
    "RecvProvided": (c_int, [c_void_p, c_uint64, c_int, c_void_p, c_int]),
    "LeaseTake": (c_int, [c_void_p, c_uint64]),
    "LeaseView": (c_int, [c_void_p, c_int, _P(c_void_p), _P(c_int)]),
    "LeaseRelease": (c_int, [c_void_p, c_int]),
    "AcceptMultishot": (c_int, [c_void_p, c_uint64, c_int]),
    "RecvMultishot": (c_int, [c_void_p, c_uint64, c_int, c_void_p, c_int]),
    "StreamCancel": (c_int, [c_void_p, c_uint64]),
    "NopWait": (c_int, [c_void_p, c_uint64, c_int]),
    "ReadWait": (c_int, [c_void_p, c_uint64, c_int, c_void_p, c_int64, c_int, c_int]),
    "WriteWait": (c_int, [c_void_p, c_uint64, c_int, c_void_p, c_int64, c_int, c_int]),
    "BufferCreate": (c_int, [c_int, c_int, _P(c_void_p), _P(c_int)]),
    "BufferView": (c_int, [c_void_p, _P(c_void_p), _P(c_int)]),
    "BufferState": (c_int, [c_void_p]),
    "BufferRelease": (c_int, [c_void_p, c_int]),
}

_NON_BLOCKING = {"Reap", "Submit", "Nop", "NopBatch", "Read", "Write", "OpenAt", "Close", "Fsync", "Timeout",
                 "Cancel", "NopWait", "BufferView", "ChainNop", "ChainRead", "ChainWrite", "ChainFsync",
                 "ChainTimeout", "ChainSubmit", "Statx", "StatxTake", "ReadV", "WriteV", "Fallocate", "Splice", "Tee", "PollAdd", "Socket", "Bind", "Listen", "Accept", "Connect",
                 "Send", "SendZeroCopy", "Recv", "Shutdown", "RecvProvided", "LeaseTake", "LeaseView", "LeaseRelease",
                 "AcceptMultishot", "RecvMultishot", "StreamCancel", "BufferState", "RingInFlight", "CompletionMessage"}

# The hot path: entry points whose arguments are all 32-bit ints, bound without argtypes (ctypes
# then converts plain ints directly: about half the cost per call of typed arguments here).
# name -> releases the GIL (may block)
_INT_ONLY = {"ReapI": True, "NopI": False, "ReadI": False, "WriteI": False, "SendI": False, "RecvI": False,
             "NopWaitI": False, "ReadWaitI": True, "WriteWaitI": True}


class _InitParameters(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("host_path", c_char_p), ("dotnet_root", c_char_p)]


def _repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def find_assembly_dir():
    """The folder holding Uring.Scripting.dll and its runtimeconfig.json."""
    tried = []
    env = os.environ.get("URING_SCRIPTING_DIR")
    candidates = [env] if env else []
    root = _repo_root()
    candidates += [os.path.join(root, "src", "Scripting", "bin", c, "net10.0") for c in ("Release", "Debug")]
    for d in candidates:
        tried.append(d)
        if os.path.isfile(os.path.join(d, "Uring.Scripting.dll")) and os.path.isfile(os.path.join(d, "Uring.Scripting.runtimeconfig.json")):
            return d
        if env and d == env:
            raise HostingError(f"URING_SCRIPTING_DIR={env} holds no Uring.Scripting.dll with its runtimeconfig.json")
    raise HostingError("Uring.Scripting.dll not found (tried: " + ", ".join(tried) +
                       "). Build it with `dotnet build src/Scripting -c Release`, or set URING_SCRIPTING_DIR.")


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
        self.assembly_dir = find_assembly_dir()
        self.dotnet_root, self.hostfxr_path = find_hostfxr()
        assembly = os.path.join(self.assembly_dir, "Uring.Scripting.dll")
        config = os.path.join(self.assembly_dir, "Uring.Scripting.runtimeconfig.json")

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
        runtime_ready = time.perf_counter()

        # hostfxr resolves one entry point (loading the assembly); that one resolves the others.
        fn = c_void_p()
        rc = load(os.fsencode(assembly), _TYPE_NAME, b"Export", _UNMANAGEDCALLERSONLY_METHOD, None, ctypes.byref(fn))
        if rc != 0 or not fn.value:
            raise HostingError(f"load_assembly_and_get_function_pointer(Export) in {assembly} failed: 0x{rc & 0xFFFFFFFF:08x}")
        export = ctypes.CFUNCTYPE(c_int, c_char_p, POINTER(c_void_p))(fn.value)
        for name, (restype, argtypes) in _SIGNATURES.items():
            fn = c_void_p()
            if export(name.encode(), ctypes.byref(fn)) != 0 or not fn.value:
                raise HostingError(f"Uring.Scripting has no entry point {name}: rebuild src/Scripting")
            setattr(self, name, ctypes.CFUNCTYPE(restype, *argtypes)(fn.value))
            if name in _NON_BLOCKING:
                setattr(self, name + "_nb", ctypes.PYFUNCTYPE(restype, *argtypes)(fn.value))
        for name, blocking in _INT_ONLY.items():
            fn = c_void_p()
            if export(name.encode(), ctypes.byref(fn)) != 0 or not fn.value:
                raise HostingError(f"Uring.Scripting has no entry point {name}: rebuild src/Scripting")
            setattr(self, name, (ctypes.CFUNCTYPE if blocking else ctypes.PYFUNCTYPE)(c_int)(fn.value))
            if name == "ReapI":
                setattr(self, "ReapI_nb", ctypes.PYFUNCTYPE(c_int)(fn.value))
        #: seconds spent starting the runtime (hostfxr) and binding the entry points (loads the assemblies)
        self.startup = {"runtime": runtime_ready - started, "bind": time.perf_counter() - runtime_ready}
        if self.Version() != ABI_VERSION:
            raise HostingError(f"Uring.Scripting ABI version {self.Version()}, this package expects {ABI_VERSION}; rebuild src/Scripting")
        self._msg = ctypes.create_string_buffer(1024)

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


def load():
    """The process-wide Native (the runtime is loaded once, on first use)."""
    global _native
    if _native is None:
        with _lock:
            if _native is None:
                _native = Native()
    return _native
