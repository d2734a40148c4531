"""Exceptions, mirroring the C# façade's (all are OSError subclasses carrying an errno)."""

import os

from ._errno import BY_VALUE as _ERRNO

__all__ = [
    "UringError", "UringIOError", "BufferBusyError", "RingClosedError", "OpcodeNotSupportedError",
    "UringArgumentError", "OperationCancelledError", "OperationTimeoutError", "BufferReleasedError",
    "UringStateError", "UringInternalError", "HostingError", "errno_name",
]


class UringError(OSError):
    """Base class. ``errno`` is set; ``opcode`` names the operation when there is one."""

    opcode = None


class UringIOError(UringError):
    """The kernel failed the operation (C# ``UringIOException``): ``errno`` says why."""


class BufferBusyError(UringError):
    """The buffer is owned by the kernel (C# ``BufferBusyException``), or a view of it is still alive."""


class RingClosedError(UringError):
    """The ring was closed (C# ``RingDisposedException``)."""


class OpcodeNotSupportedError(UringError):
    """The running kernel lacks the operation (C# ``OpcodeNotSupportedException``)."""


class UringArgumentError(UringError, ValueError):
    """Bad input (C# ``ArgumentException``): negative fd, buffer too small, ..."""


class OperationCancelledError(UringError):
    """The operation was cancelled (C# ``OperationCanceledException``; errno ECANCELED)."""


class OperationTimeoutError(UringError, TimeoutError):
    """A per-operation timeout fired first (C# ``TimeoutException``; errno ETIME)."""


class BufferReleasedError(UringError):
    """The buffer was released (C# ``ObjectDisposedException``)."""


class UringStateError(UringError, RuntimeError):
    """A call in the wrong state (C# ``InvalidOperationException``), e.g. from a thread that does not own the ring."""


class UringInternalError(UringError):
    """Anything else the C# side reported."""


class HostingError(RuntimeError):
    """The .NET runtime or the Uring.Scripting assembly could not be found or loaded."""


# ErrorKind values of src/Scripting/ErrorKind.cs
KIND_NONE, KIND_IO, KIND_BUFFER_BUSY, KIND_RING_DISPOSED, KIND_NOT_SUPPORTED, KIND_ARGUMENT, \
    KIND_CANCELLED, KIND_TIMEOUT, KIND_OBJECT_DISPOSED, KIND_INVALID_OPERATION, KIND_INTERNAL = range(11)

_BY_KIND = {
    KIND_IO: UringIOError,
    KIND_BUFFER_BUSY: BufferBusyError,
    KIND_RING_DISPOSED: RingClosedError,
    KIND_NOT_SUPPORTED: OpcodeNotSupportedError,
    KIND_ARGUMENT: UringArgumentError,
    KIND_CANCELLED: OperationCancelledError,
    KIND_TIMEOUT: OperationTimeoutError,
    KIND_OBJECT_DISPOSED: BufferReleasedError,
    KIND_INVALID_OPERATION: UringStateError,
    KIND_INTERNAL: UringInternalError,
}


def errno_name(err):
    """The symbolic name of an errno value (``ECONNRESET`` for 104), as the kernel's headers define it."""
    entry = _ERRNO.get(err)
    return entry[0] if entry else f"errno {err}"


def make_error(kind, err, message=None, opcode=None):
    """The exception for an ErrorKind and a (positive) errno."""
    cls = _BY_KIND.get(kind, UringInternalError)
    if not message:
        message = os.strerror(err) if err else "unknown error"
        if opcode:
            message = f"{opcode} failed: {message} ({errno_name(err)})"
    e = cls(err, message)
    e.opcode = opcode
    return e
