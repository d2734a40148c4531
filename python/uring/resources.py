"""What a ring registers or lends: provided buffer rings and their received buffers, the registered
file and buffer tables, and the result types of statx, pipe and recvmsg."""

import collections
import ctypes
import errno as _errno
import weakref
from ctypes import c_int, c_void_p
from threading import get_ident

from .buffer import Buffer, _view_type
from .errors import BufferBusyError, BufferReleasedError

__all__ = ["BufferRing", "ReceivedBuffer", "StatxResult", "FileTable", "RegisteredFile", "BufferTable", "RegisteredBuffer",
           "PipeFds", "ReceivedMessage"]


class _StatxInfo(ctypes.Structure):  # src/Scripting/StatxInfo.cs
    _fields_ = [("mask", ctypes.c_uint32), ("blksize", ctypes.c_uint32), ("attributes", ctypes.c_uint64),
                ("nlink", ctypes.c_uint32), ("uid", ctypes.c_uint32), ("gid", ctypes.c_uint32), ("mode", ctypes.c_uint32),
                ("ino", ctypes.c_uint64), ("size", ctypes.c_int64), ("blocks", ctypes.c_int64),
                ("atime_ns", ctypes.c_int64), ("btime_ns", ctypes.c_int64), ("ctime_ns", ctypes.c_int64),
                ("mtime_ns", ctypes.c_int64), ("dev_major", ctypes.c_uint32), ("dev_minor", ctypes.c_uint32)]


StatxResult = collections.namedtuple("StatxResult", [name for name, _ in _StatxInfo._fields_])
StatxResult.__doc__ = """statx(2) data: like os.stat_result's fields (mode, ino, nlink, uid, gid, size, blksize, blocks),
plus attributes, the mask of fields the kernel filled, and times in nanoseconds since the epoch (btime: creation),
with 100 ns resolution (the facade's StatxResult holds DateTimeOffset values)."""


class BufferRing:
    """A provided buffer ring (``io_uring_setup_buf_ring``): ``count`` buffers of ``size`` bytes the
    kernel picks from only when data arrives, so idle receives hold no memory. Use it with
    ``Ring.recv_provided`` and ``Ring.recv_multishot``; ``close()`` unregisters it."""

    def __init__(self, ring, count, size):
        handle = c_void_p()
        ring._check(ring._native.BufferRingCreate(ring._h(), int(count), int(size), ctypes.byref(handle)))
        self._ring = ring
        self._handle = handle.value
        self.count = int(count)
        self.size = int(size)

    def close(self):
        if self._handle is not None and not self._ring.closed:
            self._ring._check(self._ring._native.BufferRingFree(self._handle))
        self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ReceivedBuffer:
    """The data of a provided-buffer receive: a buffer of a BufferRing lent to the program until
    ``release()`` (or the end of a ``with`` block) gives it back to the ring. ``len()`` is the
    byte count; 0 means the peer closed the connection."""

    __slots__ = ("_ring", "_token", "nbytes", "_views", "_exporter", "__weakref__")

    def __init__(self, ring, lease, nbytes):
        self._ring = ring
        self._token = lease  # the lease id (None once released)
        self.nbytes = nbytes
        self._views = []
        self._exporter = None

    def __len__(self):
        return self.nbytes

    def __repr__(self):
        return f"<uring.ReceivedBuffer {self.nbytes} bytes{'' if self._token is not None else ', released'}>"

    def _pointer(self):
        if self._token is None:
            raise BufferReleasedError(_errno.EBADF, "the received buffer was released")
        ring = self._ring
        ptr, length = c_void_p(), c_int()
        ring._check(ring._native.LeaseView_nb(ring._h(), self._token, ctypes.byref(ptr), ctypes.byref(length)))
        return ptr.value, length.value

    def bytes(self):
        """A copy of the received bytes."""
        if self.nbytes == 0:
            return b""
        ptr, length = self._pointer()
        return ctypes.string_at(ptr, length)

    def view(self):
        """A read-write memoryview of the received bytes, valid until release()."""
        ptr, length = self._pointer()
        exporter = self._exporter() if self._exporter is not None else None
        if exporter is None:
            exporter = _view_type(max(1, length)).from_address(ptr)
            exporter.buffer = self
            self._exporter = weakref.ref(exporter)
        with memoryview(exporter) as raw:
            view = raw.cast("B")[:length]
        self._views.append(view)
        return view

    def release(self):
        """Gives the buffer back to its ring (refused while a slice of a view is alive)."""
        if self._token is None:
            return
        for v in self._views:
            v.release()
        self._views = []
        if self._exporter is not None and self._exporter() is not None:
            raise BufferBusyError(_errno.EBUSY, "cannot release: a slice or export of a view of this buffer is still alive")
        ring, token, self._token = self._ring, self._token, None
        if not ring.closed:
            ring._check(ring._native.LeaseRelease_nb(ring._handle, token))
            ring._prepared()  # a multishot receive parked on ENOBUFS re-arms now

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def __del__(self):
        try:
            if self._token is not None and not self._ring.closed and get_ident() == self._ring._owner:
                self._ring._native.LeaseRelease_nb(self._ring._handle, self._token)
                self._ring._prepared()
        except Exception:
            pass


class _ResultDetail(ctypes.Structure):  # src/Scripting/ResultDetail.cs
    _fields_ = [("value", ctypes.c_int32), ("flags", ctypes.c_int32), ("port", ctypes.c_int32), ("address", ctypes.c_char * 64)]


PipeFds = collections.namedtuple("PipeFds", ["read_fd", "write_fd"])
PipeFds.__doc__ = "The two ends of a pipe made by Ring.pipe (close both)."

ReceivedMessage = collections.namedtuple("ReceivedMessage", ["nbytes", "address", "flags"])
ReceivedMessage.__doc__ = """What Ring.recvmsg received: the byte count (scattered into its buffers), the sender as a
(host, port) tuple (None when the socket is connected or the family is not IP), and the MSG_* flags
the kernel set (MSG_TRUNC when the message did not fit)."""


class RegisteredFile(collections.namedtuple("RegisteredFile", ["index"])):
    """A slot of a ring's registered file table (IOSQE_FIXED_FILE): pass it where an operation takes
    a file, or to Ring.fixed_fd_install."""
    __slots__ = ()


class FileTable:
    """The ring's registered file table (``Ring.register_files``): ``register(fd)`` puts an fd in a
    free slot (the kernel takes its own reference: the fd may be closed afterwards) and returns a
    RegisteredFile; ``release(file)`` empties the slot; ``close()`` unregisters the table."""

    def __init__(self, ring, capacity):
        handle = c_void_p()
        ring._check(ring._native.FileTableCreate(ring._h(), int(capacity), ctypes.byref(handle)))
        self._ring = ring
        self._handle = handle.value
        self.capacity = int(capacity)

    def _h(self):
        if self._handle is None or self._ring.closed:
            raise BufferReleasedError(_errno.EBADF, "the registered file table was closed")
        return self._handle

    def register(self, fd):
        if not isinstance(fd, int):
            fd = fd.fileno()
        return RegisteredFile(self._ring._check(self._ring._native.FileRegister(self._h(), int(fd))))

    def release(self, file):
        self._ring._check(self._ring._native.FileRelease(self._h(), int(file.index)))

    def close(self):
        if self._handle is not None and not self._ring.closed:
            self._ring._check(self._ring._native.FileTableFree(self._handle))
        self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RegisteredBuffer(collections.namedtuple("RegisteredBuffer", ["index", "buffer"])):
    """A buffer registered with the ring (``BufferTable.allocate``): its slot and the Buffer. Pass it
    to read_fixed, write_fixed or send_zc_fixed; ``buffer.close()`` frees the slot."""
    __slots__ = ()


class BufferTable:
    """The ring's registered buffer table (``Ring.register_buffers``): buffers the kernel maps once,
    so the fixed operations skip pinning pages on every call. ``allocate(length)`` returns a
    RegisteredBuffer; ``close()`` unregisters the table (after its buffers were closed)."""

    def __init__(self, ring, capacity):
        handle = c_void_p()
        ring._check(ring._native.BufferTableCreate(ring._h(), int(capacity), ctypes.byref(handle)))
        self._ring = ring
        self._handle = handle.value
        self.capacity = int(capacity)

    def allocate(self, length):
        if self._handle is None or self._ring.closed:
            raise BufferReleasedError(_errno.EBADF, "the registered buffer table was closed")
        buffer = Buffer(length, _table=self._handle)
        return RegisteredBuffer(buffer._index, buffer)

    def close(self):
        if self._handle is not None and not self._ring.closed:
            self._ring._check(self._ring._native.BufferTableFree(self._handle))
        self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
