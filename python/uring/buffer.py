"""Buffer: native memory whose ownership passes to the kernel while an operation uses it."""

import ctypes
import operator
import errno
import weakref
from ctypes import c_int, c_void_p

from . import _native
from .errors import BufferBusyError, BufferReleasedError

__all__ = ["Buffer", "BufferExportedError"]


class BufferExportedError(BufferBusyError, BufferError):
    """Lending (or closing) a Buffer was refused because memory views of it are still alive.

    Like ``bytearray``, which refuses to resize while exported, with ``BufferError``; it is also a
    ``BufferBusyError`` (errno EBUSY), as this refusal always was. Nothing was submitted.
    """

USER, KERNEL, POOLED, RELEASED = range(4)   # OwnershipState (src/Uring/OwnershipState.cs)
_STATE_NAMES = {USER: "user", KERNEL: "kernel", POOLED: "released", RELEASED: "released"}

_view_types = {}


def _view_type(length):
    """A ctypes array type whose instances can hold a reference to their Buffer (and be weakly referenced)."""
    t = _view_types.get(length)
    if t is None:
        t = type(f"_BufferView{length}", (ctypes.c_ubyte * length,), {})
        if len(_view_types) < 256:
            _view_types[length] = t
    return t


class Buffer:
    """A block of native memory (a C# ``OwnershipMemory``).

    While no operation uses it, the program owns it and it behaves like a fixed-size
    ``bytearray``: on Python 3.12 and later it supports the buffer protocol (``memoryview(buf)``,
    ``f.readinto(buf)``, ``sock.recv_into(buf)``, ``hashlib.sha256(buf)``...); on every version
    ``bytes(buf)``, ``buf[i]``, ``buf[a:b]`` (a copy) and ``buf[a:b] = data`` work, as do
    ``view()`` (a writable ``memoryview``) and ``bytes()``/``write()``. Submitting an operation
    lends it to the kernel until that operation's completion; meanwhile every access raises
    ``BufferBusyError``.

    Lending needs the memory to be unexported, as resizing a ``bytearray`` does: while a
    ``memoryview(buf)`` (or a slice of one) is alive, lending and ``close()`` raise
    ``BufferExportedError`` (a ``BufferError`` and a ``BufferBusyError``) and nothing is
    submitted. Views from ``view()`` are the exception: the buffer releases them itself when it
    is lent (using one then raises ``ValueError``), but a slice or other export of one blocks
    lending the same way. The kernel never writes into memory a live Python object can see. A
    failed or cancelled operation gives the buffer back, after the kernel's completion.
    ``close()`` frees the memory (refused while the kernel owns it).
    """

    __slots__ = ("_handle", "_id", "_length", "_native", "_views", "_exporter", "_index", "__weakref__")

    def __init__(self, length, alignment=4096, *, _table=None):
        length, alignment = operator.index(length), operator.index(alignment)
        if not -(1 << 31) <= length < 1 << 31 or not -(1 << 31) <= alignment < 1 << 31:
            # a C int would wrap (Buffer(2**32 + 4096) was 4096 bytes); smaller bad values get the C# checks' errors
            raise OverflowError(f"a Buffer holds at most 2**31-1 bytes with an alignment below 2**31, not {length} / {alignment}")
        native = _native.load()
        handle, ident = c_void_p(), c_int()
        if _table is None:
            native.check(native.BufferCreate(int(length), int(alignment), ctypes.byref(handle), ctypes.byref(ident)))
        else:  # a buffer of a ring's registered buffer table (BufferTable.allocate): the result is its slot
            self._index = native.check(native.BufferTableAllocate(_table, int(length), ctypes.byref(handle), ctypes.byref(ident)))
        self._native = native
        self._handle = handle.value
        self._id = ident.value  # for the 32-bit entry points
        self._length = int(length)
        self._views = []
        self._exporter = None

    # ------------------------------------------------------------------ state

    def __len__(self):
        return self._length

    @property
    def state(self):
        """'user', 'kernel' or 'released'."""
        if self._handle is None:
            return "released"
        return _STATE_NAMES.get(self._native.BufferState(self._handle), "released")

    @property
    def kernel_owned(self):
        """True between the submission that lent the buffer and that operation's completion."""
        return self._handle is not None and self._native.BufferState(self._handle) == KERNEL

    @property
    def closed(self):
        return self._handle is None

    def __repr__(self):
        return f"<uring.Buffer {self._length} bytes, {self.state}>"

    def _require_handle(self):
        if self._handle is None:
            raise BufferReleasedError(9, "the buffer was released")
        return self._handle

    # ------------------------------------------------------------------ access

    def _pointer(self):
        ptr, length = c_void_p(), c_int()
        handle = self._require_handle()
        self._native.check(self._native.BufferView(handle, ctypes.byref(ptr), ctypes.byref(length)))
        return ptr.value, length.value

    def _export(self):
        """A writable 'B' memoryview of the whole buffer. Every view and export shares one ctypes
        exporter, which the memory views keep alive: while ``self._exporter`` resolves, some view
        or export is alive (that is how lending finds out)."""
        ptr, length = self._pointer()
        exporter = self._exporter() if self._exporter is not None else None
        if exporter is None:
            exporter = _view_type(length).from_address(ptr)
            exporter.buffer = self  # keeps the memory alive as long as any view or slice is
            self._exporter = weakref.ref(exporter)
        with memoryview(exporter) as raw:
            return raw.cast("B")

    def view(self):
        """A writable memoryview of the whole buffer (format 'B'); only while the program owns it.

        Use it as a context manager (``with buf.view() as v: ...``) or drop it before lending the
        buffer; the buffer releases it when an operation takes the buffer. (``memoryview(buf)``,
        on Python 3.12+, is never released by the buffer: it blocks lending until you release it.)
        """
        view = self._export()
        self._views.append(view)
        return view

    def __buffer__(self, flags):
        # The buffer protocol (PEP 688, Python 3.12+; 3.11 ignores this method). The consumer's
        # buffer holds the memoryview returned here, and so the exporter, until it is released.
        return self._export()

    def __bytes__(self):
        return self.bytes()

    def __getitem__(self, key):
        """``buf[i]`` is an int; ``buf[a:b:c]`` is a copy, as bytes."""
        with self._export() as v:
            item = v[key]
            if type(item) is int:
                return item
            with item:
                return item.tobytes()

    def __setitem__(self, key, value):
        """``buf[i] = int``, or ``buf[a:b:c] = bytes-like`` of exactly that length (the size is fixed)."""
        with self._export() as v:
            v[key] = value

    def bytes(self, length=None, offset=0):
        """A copy of ``length`` bytes (default: to the end) from ``offset``."""
        ptr, size = self._pointer()
        if length is None:
            length = size - offset
        if offset < 0 or length < 0 or offset + length > size:
            raise IndexError(f"[{offset}, {offset}+{length}) is outside the {size}-byte buffer")
        return ctypes.string_at(ptr + offset, length)

    def write(self, data, offset=0):
        """Copies ``data`` (any bytes-like object) into the buffer at ``offset``; returns its length."""
        ptr, size = self._pointer()
        if isinstance(data, bytes):
            n = len(data)
            if offset < 0 or offset + n > size:
                raise IndexError(f"{n} bytes at offset {offset} do not fit in the {size}-byte buffer")
            ctypes.memmove(ptr + offset, data, n)
            return n
        with memoryview(data) as m:
            n = m.nbytes
            if offset < 0 or offset + n > size:
                raise IndexError(f"{n} bytes at offset {offset} do not fit in the {size}-byte buffer")
            if m.readonly:
                ctypes.memmove(ptr + offset, m.tobytes(), n)
            else:
                with m.cast("B") as flat:
                    ctypes.memmove(ptr + offset, (ctypes.c_char * n).from_buffer(flat), n)
        return n

    # ------------------------------------------------------------------ lending

    def _revoke_views(self, action):
        views, self._views = self._views, []
        for v in views:
            try:
                v.release()
            except BufferError:
                self._views.append(v)
        if self._views or (self._exporter is not None and self._exporter() is not None):
            raise BufferExportedError(errno.EBUSY, f"cannot {action}: a memoryview of this buffer (or a slice or other "
                                                   "export of one) is still alive; release it first, or use "
                                                   "`with memoryview(buf) as m:` / `with buf.view() as v:`")
        self._exporter = None

    def _lend_id(self):
        """Like _lend, for the 32-bit entry points: the buffer's id."""
        self._lend()
        return self._id

    def _lend(self):
        """Called before an operation takes the buffer."""
        if self._exporter is None and not self._views:
            handle = self._handle
            if handle is not None:
                return handle
        handle = self._require_handle()
        self._revoke_views("lend it to the kernel")
        return handle

    # ------------------------------------------------------------------ release

    def close(self):
        """Frees the memory. Raises BufferBusyError while the kernel owns it (or a view is alive)."""
        if self._handle is None:
            return
        self._revoke_views("release it")
        self._native.check(self._native.BufferRelease(self._handle, self._id))
        self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # Only memory the program owns is freed here; memory the kernel still owns stays
        # allocated (the C# side frees it after the CQE, or keeps it forever if none comes).
        try:
            if self._handle is not None:
                if self._native.BufferState(self._handle) == USER:
                    self._native.BufferRelease(self._handle, self._id)
                self._handle = None
        except Exception:
            pass
