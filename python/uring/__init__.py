"""io_uring for Python, through the Uring C# façade (.NET native hosting + ctypes).

    import uring
    with uring.Ring() as ring, uring.Buffer(4096) as buf:
        fd = ring.openat("/etc/hostname").result()
        n = ring.read(fd, buf, 0).result()
        print(buf.bytes(n))
        ring.close_fd(fd).result()

In asyncio, ``await`` the same futures; the ring's eventfd is watched with ``loop.add_reader``.
"""

from .buffer import Buffer, BufferExportedError
from .errors import (BufferBusyError, BufferReleasedError, HostingError, OpcodeNotSupportedError,
                     OperationCancelledError, OperationTimeoutError, RingClosedError, UringArgumentError,
                     UringError, UringInternalError, UringIOError, UringStateError)
from .chain import Chain
from .future import BatchFuture, CancelOutcome, Future, gather
from .resources import (BufferRing, BufferTable, FileTable, PipeFds, ReceivedBuffer, ReceivedMessage, RegisteredBuffer,
                        RegisteredFile, StatxResult)
from .ring import AT_FDCWD, AcceptedFd, Ring
from .stream import AcceptBackoff, AcceptPause, ResilientAccept, Stream

__version__ = "0.1.0"


def native_memory():
    """(live bytes, live allocations) of the C# façade's native memory (buffers, rings)."""
    from . import _native
    return _native.load().native_memory()


def runtime_info():
    """Where the native library came from: ``mode`` is ``"aot"`` (the NativeAOT Uring.Scripting.so,
    no .NET runtime; ``dotnet_root`` and ``hostfxr`` are None) or ``"hostfxr"`` (a build of
    src/Scripting run by the .NET runtime); ``assemblies`` is the folder the library was loaded from."""
    from . import _native
    n = _native.load()
    return {"mode": n.mode, "dotnet_root": n.dotnet_root, "hostfxr": n.hostfxr_path, "assemblies": n.assembly_dir}


__all__ = [
    "Ring", "Buffer", "Future", "Stream", "ResilientAccept", "AcceptBackoff", "AcceptPause", "Chain", "gather", "BatchFuture", "CancelOutcome", "BufferRing", "ReceivedBuffer", "StatxResult", "AT_FDCWD",
    "FileTable", "RegisteredFile", "BufferTable", "RegisteredBuffer", "PipeFds", "ReceivedMessage", "AcceptedFd",
    "UringError", "UringIOError", "BufferBusyError", "BufferExportedError", "RingClosedError", "OpcodeNotSupportedError",
    "UringArgumentError", "OperationCancelledError", "OperationTimeoutError", "BufferReleasedError",
    "UringStateError", "UringInternalError", "HostingError", "native_memory", "runtime_info",
]
