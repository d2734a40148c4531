"""Checks and converts the arguments of the generated operation methods (_operations.py), one
method per parameter kind of the operation table (docs/operations.md). A value that does not fit
its C type raises OverflowError, a wrong type TypeError, a value the operation cannot take
UringArgumentError (a ValueError): nothing is silently truncated on its way to C."""

import datetime
import errno as _errno
import math
import os
from ctypes import c_void_p

from .buffer import Buffer
from .errors import UringArgumentError

_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
_UINT32_MAX = (1 << 32) - 1
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
AT_FDCWD = -100


def _integer(value, name):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            return value.__index__()
        except AttributeError:
            raise TypeError(f"{name} must be an int, not {type(value).__name__}") from None
    return value


def _fits(value, low, high, name, ctype):
    if not low <= value <= high:
        raise OverflowError(f"{name}={value} does not fit in a C {ctype} ({low} to {high})")
    return value


class Arguments:
    """The converted arguments of one call, and what the call lends: ``lent`` (the Buffer the
    future reports) and ``temp`` (a temporary Buffer holding a copy of bytes-like data, freed
    when the operation ends)."""

    __slots__ = ("lent", "temp", "keep")

    def __init__(self):
        self.lent = None
        self.temp = None
        self.keep = None  # objects that must live until the call returns (ctypes arrays)

    def discard(self):
        """The call failed before the operation existed: free the temporary copy."""
        temp, self.temp = self.temp, None
        if temp is not None:
            temp.close()

    # ------------------------------------------------------------------ files

    def fd(self, value, name, directory=False):
        """A file descriptor (an int, or an object with fileno()), or a RegisteredFile (encoded for
        the C ABI as INT32_MIN | index; directories cannot be registered files)."""
        index = getattr(value, "index", None)
        if index is not None and type(value).__name__ == "RegisteredFile":
            if directory:
                raise UringArgumentError(_errno.EINVAL, f"{name}: a directory cannot be a registered file")
            return -0x80000000 | _fits(_integer(index, name), 0, _INT32_MAX, name, "int")
        if not isinstance(value, int) and hasattr(value, "fileno"):
            value = value.fileno()
        value = _integer(value, name)
        if directory and value == AT_FDCWD:
            return value
        _fits(value, _INT32_MIN, _INT32_MAX, name, "int")
        if value < 0:
            raise UringArgumentError(_errno.EINVAL, f"{name}={value}: a file descriptor cannot be negative")
        return value

    def registered_file(self, value, name):
        index = getattr(value, "index", value)
        return _fits(_integer(index, name), 0, _INT32_MAX, name, "int")

    # ------------------------------------------------------------------ memory

    def buffer(self, value, name):
        if not isinstance(value, Buffer):
            raise TypeError(f"{name} must be a uring.Buffer, not {type(value).__name__}")
        handle = value._lend()
        self.lent = value
        return handle

    def buffer_in(self, value, name):
        """A Buffer is lent; any other bytes-like object is copied into a temporary Buffer."""
        if isinstance(value, Buffer):
            return self.buffer(value, name)
        try:
            with memoryview(value) as view:
                size = view.nbytes
        except TypeError:
            raise TypeError(f"{name} must be a uring.Buffer or a bytes-like object, not {type(value).__name__}") from None
        temp = Buffer(max(1, size), 8)
        if size:
            temp.write(value)
        self.temp = temp
        return temp._lend()

    def buffers(self, value, name, most):
        items = list(value)
        if not 1 <= len(items) <= most:
            raise UringArgumentError(_errno.EINVAL, f"{name} takes 1 to {most} buffers, not {len(items)}")
        for item in items:
            if not isinstance(item, Buffer):
                raise TypeError(f"{name} must hold uring.Buffer objects, not {type(item).__name__}")
        if len({id(b) for b in items}) != len(items):
            raise UringArgumentError(_errno.EINVAL, f"{name} names the same Buffer twice")
        array = (c_void_p * len(items))(*(b._lend() for b in items))
        self.keep = array
        return array, len(items)

    def registered_buffer(self, value, name):
        buffer = getattr(value, "buffer", None)
        if not isinstance(buffer, Buffer):
            raise TypeError(f"{name} must be a uring.RegisteredBuffer (BufferTable.allocate), not {type(value).__name__}")
        self.lent = buffer
        return buffer._lend(), _fits(_integer(value.index, name), 0, _INT32_MAX, name, "int")

    def buffer_ring(self, value, name):
        handle = getattr(value, "_handle", None)
        if handle is None or not hasattr(value, "count"):
            raise TypeError(f"{name} must be an open uring.BufferRing")
        return handle

    # ------------------------------------------------------------------ numbers

    def length(self, value, name):
        value = _integer(value, name)
        if not -1 <= value <= _INT32_MAX:
            raise UringArgumentError(_errno.EINVAL, f"{name}={value} must be -1 (the whole buffer) or 0 to 2**31-1")
        return value

    def offset(self, value, name):
        value = _fits(_integer(value, name), _INT64_MIN, _INT64_MAX, name, "int64_t")
        if value < -1:
            raise UringArgumentError(_errno.EINVAL, f"{name}={value} must be -1 (the file position) or 0 to 2**63-1")
        return value

    def int32(self, value, name, minimum=None):
        value = _fits(_integer(value, name), _INT32_MIN, _INT32_MAX, name, "int")
        if minimum is not None and value < minimum:
            raise UringArgumentError(_errno.EINVAL, f"{name}={value} must be at least {minimum}")
        return value

    def uint32(self, value, name):
        return _fits(_integer(value, name), 0, _UINT32_MAX, name, "uint32_t")

    def int64(self, value, name, minimum=None):
        value = _fits(_integer(value, name), _INT64_MIN, _INT64_MAX, name, "int64_t")
        if minimum is not None and value < minimum:
            raise UringArgumentError(_errno.EINVAL, f"{name}={value} must be at least {minimum}")
        return value

    # ------------------------------------------------------------------ text and addresses

    def path(self, value, name):
        data = os.fsencode(value)
        if b"\0" in data:
            raise UringArgumentError(_errno.EINVAL, f"{name} contains a NUL byte")
        return data

    def endpoint(self, value, name, optional=False):
        """(host, port) → (host as UTF-8, port); None where the parameter is optional."""
        if value is None:
            if optional:
                return None, 0
            raise TypeError(f"{name} must be a (host, port) tuple")
        try:
            host, port = value[0], value[1]
        except (TypeError, IndexError):
            raise TypeError(f"{name} must be a (host, port) tuple, not {type(value).__name__}") from None
        port = _integer(port, name)
        if not 0 <= port <= 65535:
            raise UringArgumentError(_errno.EINVAL, f"{name}: port {port} is not 0 to 65535")
        return str(host).encode(), port

    # ------------------------------------------------------------------ time

    def seconds(self, value, name):
        """A duration in seconds (int, float or timedelta) as nanoseconds."""
        if isinstance(value, datetime.timedelta):
            value = value.total_seconds()
        return _nanoseconds(value, name, "a duration cannot be negative", "292 years")

    def epoch_seconds(self, value, name):
        """A wall-clock deadline (datetime, or seconds since 1970) as nanoseconds since 1970."""
        if isinstance(value, datetime.datetime):
            value = value.timestamp()
        return _nanoseconds(value, name, "the deadline is before 1970", "the year 2262")

    def backoff(self, value, name):
        """A back-off: None, or an ``(initial, maximum)`` pair of durations in seconds (``uring.AcceptBackoff``),
        either of which may be None; as nanoseconds, -1 standing for the default."""
        if value is None:
            return -1, -1
        try:
            initial, maximum = value
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be None or an (initial, maximum) pair of seconds, not {value!r}") from None
        return (-1 if initial is None else self.seconds(initial, name + ".initial"),
                -1 if maximum is None else self.seconds(maximum, name + ".maximum"))

    def monotonic_ns(self, value, name):
        """A CLOCK_MONOTONIC time in nanoseconds (time.monotonic_ns())."""
        value = _fits(_integer(value, name), _INT64_MIN, _INT64_MAX, name, "int64_t")
        if value < 0:
            raise UringArgumentError(_errno.EINVAL, f"{name}={value}: a timestamp cannot be negative")
        return value


def _nanoseconds(value, name, negative, limit):
    """Seconds (int or float) as integer nanoseconds, 0 to 2**63-1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise UringArgumentError(_errno.EINVAL, f"{name}={value} is not finite")
    if value < 0:
        raise UringArgumentError(_errno.EINVAL, f"{name}={value}: {negative}")
    ns = int(value * 1_000_000_000) if isinstance(value, float) else value * 1_000_000_000
    if ns > _INT64_MAX:
        raise OverflowError(f"{name}={value} s is beyond 2**63-1 nanoseconds ({limit})")
    return ns

