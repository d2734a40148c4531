"""Ring and its futures: synchronous use, and asyncio integration through the ring's eventfd."""

import atexit
import collections
import ctypes
import enum
import errno as _errno
import itertools
import math
import os
import struct
import threading
import sys
import time
import weakref
from ctypes import c_int, c_uint32, c_void_p
from threading import get_ident

from . import _native
from .buffer import Buffer, _view_type
from .errors import (KIND_CANCELLED, KIND_NONE, KIND_RING_DISPOSED, BufferBusyError, BufferReleasedError, OperationCancelledError,
                     OperationTimeoutError, RingClosedError, UringArgumentError, UringError, UringStateError, make_error)

__all__ = ["Ring", "Future", "BatchFuture", "Stream", "Chain", "CancelOutcome", "BufferRing", "ReceivedBuffer", "StatxResult",
           "AT_FDCWD", "gather"]

AT_FDCWD = -100
_COMPLETION = struct.Struct("<QiI")   # src/Scripting/Completion.cs
_RING_FLAG_SQPOLL, _RING_FLAG_NO_DEFER_TASKRUN = 1, 2
_WAIT_SLICE_MS = 200  # longest single wait inside the runtime (see Ring._wait_for)
_TOKEN_LIMIT = 1 << 31  # tokens are positive 32-bit ints (see Ring._wrap_token)


def _slice_ms(timeout):
    if timeout is None:
        return _WAIT_SLICE_MS
    return max(0, min(_WAIT_SLICE_MS, int(timeout * 1000)))


def _asyncio():
    # imported on first use: a synchronous script does not pay for asyncio's import
    return sys.modules.get("asyncio") or __import__("asyncio")


class CancelOutcome(enum.IntEnum):
    """What the kernel answered to a cancel (C# ``CancelOutcome``)."""
    CANCELLED = 0
    ALREADY_COMPLETED = 1
    NOT_FOUND = 2
    ALREADY_RUNNING = 3


_PENDING, _DONE = 0, 1


class Future:
    """The pending result of one operation.

    ``result(timeout)`` waits (driving the ring on this thread), ``await future`` waits in
    asyncio, ``cancel()`` asks the kernel to cancel it. The future ends only with the kernel's
    completion for the operation, so once it is done any buffer it used is the program's again.
    """

    __slots__ = ("_ring", "_token", "opcode", "_state", "_res", "_status", "_buffer", "_temp_buffer",
                 "_convert", "_callbacks", "_waiter", "_error", "__weakref__")

    def __init__(self, ring, token, opcode, buffer=None, convert=None):
        self._ring = ring
        self._token = token
        self.opcode = opcode
        self._state = _PENDING
        self._res = 0
        self._status = 0
        self._buffer = buffer
        self._temp_buffer = None
        self._convert = convert
        self._callbacks = None
        self._waiter = None
        self._error = None

    def __repr__(self):
        state = "pending" if self._state == _PENDING else ("ok" if self._status == KIND_NONE else "failed")
        return f"<uring.Future {self.opcode} {state}>"

    # ------------------------------------------------------------------ completion

    def _complete(self, res, status):
        self._state = _DONE
        if status == 0 and self._convert is not None:
            res = self._convert(res)
        self._res = res
        self._status = status
        temp = self._temp_buffer
        if temp is not None:
            self._temp_buffer = None
            try:
                temp.close()
            except BufferBusyError:
                pass  # quarantined by a ring that gave up waiting for the kernel: never freed
        w = self._waiter
        if w is not None:
            self._waiter = None
            if not w.done():
                w.set_result(None)
        cbs = self._callbacks
        if cbs is not None:
            self._callbacks = None
            for cb in cbs:
                try:
                    cb(self)
                except Exception:  # like asyncio: a failing callback does not break the loop
                    import traceback
                    traceback.print_exc()

    def done(self):
        return self._state == _DONE

    def add_done_callback(self, fn):
        """Calls ``fn(future)`` when the operation completes (at once if it has)."""
        if self._state == _DONE:
            fn(self)
        elif self._callbacks is None:
            self._callbacks = [fn]
        else:
            self._callbacks.append(fn)

    @property
    def buffer(self):
        """The Buffer the operation uses (None for operations without one)."""
        return self._buffer

    # ------------------------------------------------------------------ results

    def exception(self, timeout=None):
        """The exception the operation ended with, or None."""
        if self._state != _DONE:
            self._ring._wait_for(self, timeout)
        if self._status == KIND_NONE:
            return None
        if self._error is None:
            message = self._ring._completion_message(self._token)
            self._error = make_error(self._status, -self._res, message, self.opcode)
        return self._error

    def result(self, timeout=None):
        """Waits (up to ``timeout`` seconds; None = no limit) and returns the result.

        Raises the operation's error (a ``UringError`` subclass), or ``TimeoutError`` when the
        operation is still in flight at the deadline (it keeps running)."""
        if self._state != _DONE:
            ring = self._ring
            if not ring.closed:
                # submit + reap: usually enough (a NOP, a cached read); one completion is the common case
                n = ring._reap_nb(ring._id, 0)
                if n == 1:
                    token, res, status = _COMPLETION.unpack_from(ring._cbuf)
                    fut = ring._pending.pop(token, None)
                    if fut is not None:
                        if type(fut) is Future:
                            fut._complete(res, status)
                        else:
                            fut._complete_one(token, res, status)
                elif n:
                    ring._dispatch_more(n)
                elif n < 0:
                    raise ring._native.last_error()
            if self._state != _DONE:
                ring._wait_for(self, timeout)
        if self._status:
            raise self.exception()
        return self._res

    def cancel(self):
        """Submits a kernel cancel (IORING_OP_ASYNC_CANCEL) for this operation.

        Returns a Future whose result is a ``CancelOutcome``. This future still completes only
        with the operation's own completion: ``OperationCancelledError``, or its real result when
        it finished first. Its buffer comes back only then."""
        if self._state == _DONE:
            return _completed_future(self._ring, "ASYNC_CANCEL", CancelOutcome.ALREADY_COMPLETED)
        return self._ring._cancel(self)

    def cancelled(self):
        return self._state == _DONE and self._status == KIND_CANCELLED

    # ------------------------------------------------------------------ asyncio

    def __await__(self):
        if self._state != _DONE:
            loop = _asyncio().get_running_loop()
            ring = self._ring
            ring._attach(loop)
            if len(ring._pending) == 1:
                # Alone in flight (a coroutine doing one thing at a time): submit now; an operation
                # that completes at once (a NOP, a cached read) then needs no trip through the loop.
                # With more in flight, one submit per loop iteration serves them all (below).
                ring._reap(0)
                if self._state == _DONE:
                    return self.result()
            waiter = self._waiter
            if waiter is None:
                waiter = self._waiter = loop.create_future()
            if not ring._kick_scheduled:
                ring._schedule_kick()  # one submit per loop iteration, however many are awaited
            try:
                yield from waiter.__await__()
            except _asyncio().CancelledError:
                if self._state != _DONE and not ring.closed:
                    self._waiter = None
                    ring._cancel(self)  # the kernel cancel; the buffer comes back with the CQE
                raise
        return self.result()


class BatchFuture:
    """The results of a batch of operations submitted with one call (``Ring.nop_batch``)."""

    __slots__ = ("_ring", "_first", "_count", "_remaining", "_failures", "opcode", "_waiter", "_results", "_refused")

    def __init__(self, ring, first, count, opcode, keep_results):
        self._ring = ring
        self._first = first
        self._count = count
        self._remaining = count
        self._failures = None
        self.opcode = opcode
        self._waiter = None
        self._results = [0] * count if keep_results else None
        self._refused = None

    def _complete_one(self, token, res, status):
        if status != KIND_NONE:
            if self._failures is None:
                self._failures = []
            self._failures.append((token, res, status))
        if self._results is not None:
            self._results[token - self._first] = res
        self._remaining -= 1
        if self._remaining == 0 and self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def done(self):
        return self._remaining == 0

    def result(self, timeout=None):
        """Waits for every member; returns their results (a list) or, without kept results, the count.
        Raises the first member's error if any failed."""
        if self._remaining:
            self._ring._wait_for(self, timeout)
        if self._failures:
            token, res, status = self._failures[0]
            raise make_error(status, -res, self._ring._completion_message(token), self.opcode)
        if self._refused is not None:
            raise self._refused
        return self._results if self._results is not None else self._count

    def __await__(self):
        if self._remaining:
            loop = _asyncio().get_running_loop()
            self._ring._attach(loop)
            if self._waiter is None:
                self._waiter = loop.create_future()
            if not self._ring._kick_scheduled:
                self._ring._schedule_kick()
            yield from self._waiter.__await__()
        return self.result()


class Chain:
    """Linked operations (IOSQE_IO_LINK, or IOSQE_IO_HARDLINK with ``hard=True``), from
    ``Ring.chain()``: each member starts only after the previous one succeeded (hard links: ended);
    if one fails, the rest end with OperationCancelledError. Each add returns that member's
    Future; nothing reaches the kernel before ``submit()`` — which leaving a ``with`` block does
    (without an exception; with one, the members end cancelled). A buffer may serve several
    members (read into it, then write it out): it stays the kernel's until the last of them ends.
    """

    def __init__(self, ring, hard=False):
        handle = c_void_p()
        ring._check(ring._native.ChainCreate(ring._h(), 1 if hard else 0, ctypes.byref(handle)))
        self._ring = ring
        self._handle = handle.value
        self._submitted = False

    def _add(self, opcode, entry, args, buffer=None, convert=None):
        ring = self._ring
        if self._handle is None:
            raise UringStateError(_errno.EINVAL, "this chain was already submitted or freed")
        h = ring._h()
        token = next(ring._tokens)
        if token >= ring._token_limit:
            token = ring._wrap_token()
        ring._check(entry(h, self._handle, token, *args), opcode)
        return ring._submitted(Future(ring, token, opcode, buffer, convert))

    def nop(self):
        return self._add("NOP", self._ring._native.ChainNop_nb, ())

    def read(self, fd, buffer, offset=-1, length=-1):
        return self._add("READ", self._ring._native.ChainRead_nb, (fd, _buffer_handle(buffer), offset, length), buffer)

    def write(self, fd, buffer, offset=-1, length=-1):
        return self._add("WRITE", self._ring._native.ChainWrite_nb, (fd, _buffer_handle(buffer), offset, length), buffer)

    def fsync(self, fd, datasync=False):
        return self._add("FSYNC", self._ring._native.ChainFsync_nb, (fd, 1 if datasync else 0))

    def timeout(self, seconds):
        """A timeout member (result True when it elapsed)."""
        return self._add("TIMEOUT", self._ring._native.ChainTimeout_nb, (int(seconds * 1e9), 0), convert=bool)

    def link_timeout(self, seconds):
        """IORING_OP_LINK_TIMEOUT for the member added just before: if it still runs after ``seconds``,
        the kernel cancels it (its future raises OperationTimeoutError). Result: True when it fired."""
        return self._add("LINK_TIMEOUT", self._ring._native.ChainTimeout_nb, (int(seconds * 1e9), 1), convert=bool)

    def submit(self):
        """Links the members and queues them as one unit."""
        ring = self._ring
        if self._handle is None:
            raise UringStateError(_errno.EINVAL, "this chain was already submitted or freed")
        try:
            ring._check(ring._native.ChainSubmit_nb(self._handle), "CHAIN")
            self._submitted = True
        finally:
            self._free()
        ring._prepared()

    def _free(self):
        if self._handle is not None:
            handle, self._handle = self._handle, None
            self._ring._native.ChainFree(handle)  # an unsubmitted chain's members end cancelled

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None and self._handle is not None:
            self.submit()
        else:
            self._free()

    def __del__(self):
        try:
            self._free()
        except Exception:
            pass


_MORE = 0x100  # Completion.MoreFlag: an item of a multishot stream


class Stream:
    """The items of a multishot operation (``Ring.accept_multishot``, ``Ring.recv_multishot``).

    Iterate it synchronously (``for item in stream``: drives the ring) or in asyncio
    (``async for item in stream``). It ends when the kernel ends it for good (the peer closed),
    after ``cancel()`` (a kernel cancel; the iteration then stops quietly once the last CQE is
    in), or with the operation's error.
    """

    __slots__ = ("_ring", "_token", "opcode", "_convert", "_items", "_ended", "_status", "_res", "_cancelled",
                 "_waiter", "__weakref__")

    def __init__(self, ring, token, opcode, convert):
        self._ring = ring
        self._token = token
        self.opcode = opcode
        self._convert = convert
        self._items = collections.deque()
        self._ended = False
        self._status = 0
        self._res = 0
        self._cancelled = False
        self._waiter = None

    def __repr__(self):
        return f"<uring.Stream {self.opcode} {'ended' if self._ended else 'running'}, {len(self._items)} waiting>"

    def _complete_one(self, token, res, status):
        if status & _MORE:
            self._ring._pending[token] = self  # more items follow under this token
            self._items.append(res if self._convert is None else self._convert(res))
        else:
            self._ended = True
            self._status, self._res = status, res
        w = self._waiter
        if w is not None:
            self._waiter = None
            if not w.done():
                w.set_result(None)

    def done(self):
        """True when an item is waiting or the stream has ended (what a wait waits for)."""
        return bool(self._items) or self._ended

    def cancel(self):
        """Stops the stream: the kernel cancel is submitted; items already received can still be read."""
        ring = self._ring
        if not self._ended and not self._cancelled and not ring.closed:
            self._cancelled = True
            ring._check(ring._native.StreamCancel_nb(ring._h(), self._token), self.opcode)
            ring._prepared()  # the cancel SQE waits in the SQ

    def _next_or_end(self):
        if self._items:
            return True, self._items.popleft()
        if self._status and not (self._cancelled and self._status == KIND_CANCELLED):
            status, self._status = self._status, 0
            raise make_error(status, -self._res, self._ring._completion_message(self._token), self.opcode)
        return False, None

    def __iter__(self):
        return self

    def __next__(self):
        if not self.done():
            self._ring._wait_for(self, None)
        more, item = self._next_or_end()
        if not more:
            raise StopIteration
        return item

    def __aiter__(self):
        return self

    async def __anext__(self):
        if not self.done():
            aio = _asyncio()
            loop = aio.get_running_loop()
            ring = self._ring
            ring._attach(loop)
            if not ring._kick_scheduled:
                ring._schedule_kick()
            while not self.done():
                self._waiter = loop.create_future()
                try:
                    await self._waiter
                except aio.CancelledError:
                    self.cancel()
                    raise
        more, item = self._next_or_end()
        if not more:
            raise StopAsyncIteration
        return item

    def close(self):
        """Cancels the stream (if running) and waits for its end; items not read are released."""
        self.cancel()
        while not self._ended:
            self._ring._wait_for(_Ended(self), None)
        for item in self._items:
            if isinstance(item, ReceivedBuffer):
                item.release()
            elif isinstance(item, int) and self.opcode == "ACCEPT":
                try:
                    os.close(item)
                except OSError:
                    pass
        self._items.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Ended:
    __slots__ = ("_stream", "opcode")

    def __init__(self, stream):
        self._stream = stream
        self.opcode = stream.opcode

    def done(self):
        return self._stream._ended


def gather(*futures):
    """Awaits every future (of any rings) with one asyncio wake-up, without wrapping each in a
    Task as ``asyncio.gather`` does; returns their results in order, or raises the first error
    after all have completed. Cancelling the await cancels (in the kernel) those still pending."""
    return _Gather(futures)


class _Gather:
    __slots__ = ("_futures",)

    def __init__(self, futures):
        self._futures = futures

    def __await__(self):
        pending = [f for f in self._futures if not f.done()]
        if pending:
            aio = _asyncio()
            loop = aio.get_running_loop()
            waiter = loop.create_future()
            remaining = [len(pending)]

            def one_done(_):
                remaining[0] -= 1
                if remaining[0] == 0 and not waiter.done():
                    waiter.set_result(None)

            rings = {}
            for f in pending:
                f.add_done_callback(one_done)
                rings[id(f._ring)] = f._ring
            for ring in rings.values():
                ring._attach(loop)
                if not ring._kick_scheduled:
                    ring._schedule_kick()
            try:
                yield from waiter.__await__()
            except aio.CancelledError:
                for f in pending:
                    if not f.done() and not f._ring.closed and type(f) is Future:
                        f._ring._cancel(f)
                raise
        return [f.result() for f in self._futures]


def _completed_future(ring, opcode, value):
    f = Future(ring, 0, opcode)
    f._state = _DONE
    f._res = value
    return f


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
    ``Ring.recv_provided``; ``close()`` unregisters it."""

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


_open_rings = weakref.WeakSet()


@atexit.register
def _close_rings_at_exit():
    # Operations still in flight at exit are cancelled and drained (bounded by the ring's
    # shutdown timeout); rings owned by other threads are left to the kernel's own cleanup.
    me = threading.get_ident()
    for ring in list(_open_rings):
        if ring._owner == me:
            try:
                ring.close()
            except Exception:
                pass



def _outgoing(data, length):
    """What write/send lend to the kernel: the caller's Buffer, or a temporary Buffer holding a
    copy of bytes-like ``data``. Returns (buffer, temporary or None, length)."""
    if isinstance(data, Buffer):
        return data, None, length
    with memoryview(data) as m:
        size = m.nbytes
    temp = Buffer(max(1, size), 8)
    temp.write(data)
    return temp, temp, size if length < 0 else length

class Ring:
    """An io_uring instance (a C# ``Uring.Ring`` driven by the thread that creates it).

    Use it from that thread only. Operations return ``Future`` objects; nothing blocks until
    you wait. Synchronously, ``future.result()`` submits and reaps on the spot. In asyncio,
    ``await future`` registers the ring's eventfd with the loop (``loop.add_reader``); the
    kernel signals it when completions arrive and the ring reaps them in batches — no polling,
    no thread. ``close()`` (or leaving a ``with`` block) cancels what is still in flight and
    waits for the kernel's answers before freeing anything.
    """

    def __init__(self, entries=256, *, sqpoll=False, defer_taskrun=True, shutdown_timeout=5.0, reap_batch=256):
        native = _native.load()
        flags = (_RING_FLAG_SQPOLL if sqpoll else 0) | (0 if defer_taskrun else _RING_FLAG_NO_DEFER_TASKRUN)
        handle, efd, ident = c_void_p(), c_int(), c_int()
        native.check(native.RingCreate(int(entries), flags, int(shutdown_timeout * 1000), ctypes.byref(handle),
                                       ctypes.byref(efd), ctypes.byref(ident)))
        self._native = native
        self._handle = handle.value
        self._id = ident.value  # for the 32-bit entry points
        self._eventfd = efd.value
        self._owner = threading.get_ident()
        self._pending = {}
        self._tokens = itertools.count(1)
        self._token_limit = _TOKEN_LIMIT
        self._capacity = int(reap_batch)
        self._cbuf = ctypes.create_string_buffer(_COMPLETION.size * self._capacity)
        self._cview = memoryview(self._cbuf).cast("B")
        native.check(native.SetReapBuffer(self._handle, self._cbuf, self._capacity))
        self._loop = None
        self._kick_scheduled = False
        self._msg = ctypes.create_string_buffer(512)
        self.closed = False
        _open_rings.add(self)
        # bound entry points, looked up once
        n = native
        self._reap_fn, self._reap_nb = n.ReapI, n.ReapI_nb
        self._nop_fn, self._read_fn, self._write_fn = n.NopI, n.ReadI, n.WriteI
        self._nop_wait_fn, self._read_wait_fn, self._write_wait_fn = n.NopWaitI, n.ReadWaitI, n.WriteWaitI
        aio = sys.modules.get("asyncio")
        if aio is not None:  # created inside a running event loop: submit with it from the start
            try:
                self._attach(aio.get_running_loop())
            except RuntimeError:
                pass

    # ------------------------------------------------------------------ info

    @property
    def eventfd(self):
        """The eventfd registered with IORING_REGISTER_EVENTFD (readable when completions may be ready)."""
        return self._eventfd

    @property
    def in_flight(self):
        """Operations submitted whose future is not done yet."""
        return len(self._pending)

    def info(self):
        """dict(sq_entries, cq_entries, setup_flags, features)."""
        a, b, c, d = c_uint32(), c_uint32(), c_uint32(), c_uint32()
        self._check(self._native.RingInfo(self._h(), ctypes.byref(a), ctypes.byref(b), ctypes.byref(c), ctypes.byref(d)))
        return {"sq_entries": a.value, "cq_entries": b.value, "setup_flags": c.value, "features": d.value}

    def __repr__(self):
        return f"<uring.Ring {'closed' if self.closed else f'{len(self._pending)} in flight'}>"

    # ------------------------------------------------------------------ plumbing

    def _h(self):
        if self.closed:
            raise RingClosedError(_errno.EBADF, "the ring was closed")
        if threading.get_ident() != self._owner:
            raise UringStateError(_errno.EINVAL, "a Ring must be used from the thread that created it")
        return self._handle

    def _check(self, rc, opcode=None):
        if rc < 0:
            raise self._native.last_error(opcode)
        return rc

    def _start(self, h, opcode, entry, *args, convert=None):
        """Starts ``opcode`` through the C ABI entry ``entry(h, token, *args)`` and returns its Future."""
        token = self._next_token()
        self._check(entry(h, token, *args), opcode)
        return self._submitted(Future(self, token, opcode, convert=convert))

    def _submitted(self, fut):
        self._pending[fut._token] = fut
        if self._loop is not None and not self._kick_scheduled:
            self._schedule_kick()
        return fut

    def _prepared(self):
        """Something may have put SQEs in the SQ without an operation of ours: in asyncio, submit them soon."""
        if self._loop is not None and not self._kick_scheduled:
            self._schedule_kick()

    def _schedule_kick(self):
        loop = self._loop
        if loop.is_closed():
            self._loop = None
            return
        self._kick_scheduled = True
        loop.call_soon(self._kick)

    def _kick(self):
        """Submits what was prepared and dispatches what is ready (asyncio: once per loop iteration)."""
        self._kick_scheduled = False
        if not self.closed:
            self._reap(0)

    def _reap(self, timeout_ms):
        """Reaps (submits, reaps, waits up to timeout_ms if nothing is ready) and dispatches; returns how many."""
        n = (self._reap_nb if timeout_ms == 0 else self._reap_fn)(self._id, timeout_ms)
        if n <= 0:
            if n < 0:
                raise self._native.last_error()
            return 0
        self._dispatch(n)
        total = n
        while n == self._capacity:
            n = self._reap_nb(self._id, 0)
            if n <= 0:
                break
            self._dispatch(n)
            total += n
        return total

    def _dispatch_more(self, n):
        """Dispatches ``n`` completions already in the buffer, then reaps on while batches come back full."""
        self._dispatch(n)
        while n == self._capacity:
            n = self._reap_nb(self._id, 0)
            if n <= 0:
                break
            self._dispatch(n)

    def _dispatch(self, n):
        pop = self._pending.pop
        if n == 1:
            token, res, status = _COMPLETION.unpack_from(self._cbuf)
            fut = pop(token, None)
            if fut is not None:
                if type(fut) is Future:
                    fut._complete(res, status)
                else:
                    fut._complete_one(token, res, status)
            return
        for token, res, status in _COMPLETION.iter_unpack(self._cview[:n * _COMPLETION.size]):
            fut = pop(token, None)
            if fut is None:
                continue
            if type(fut) is Future:
                fut._complete(res, status)
            else:
                fut._complete_one(token, res, status)

    def _completion_message(self, token):
        if self.closed and self._handle is None:
            return None
        n = self._native.CompletionMessage(self._handle, token, self._msg, len(self._msg))
        if n <= 0:
            return None
        if n > len(self._msg):
            self._msg = ctypes.create_string_buffer(n)
            n = self._native.CompletionMessage(self._handle, token, self._msg, n)
        return self._msg.raw[:n].decode("utf-8", "replace") or None

    def _wait_for(self, fut, timeout):
        """Drives the ring on this thread until ``fut`` is done or ``timeout`` seconds pass."""
        if fut.done():
            return
        if self.closed:
            raise RingClosedError(_errno.EBADF, "the ring was closed with this operation unfinished")
        self._h()
        if timeout is None:
            # Waits in slices: the runtime's signal handling restarts the kernel wait, so only
            # returning to Python lets a Ctrl-C (KeyboardInterrupt) through.
            while not fut.done():
                if self._reap(0) == 0 and not fut.done():
                    if self._reap(_WAIT_SLICE_MS) == 0 and not fut.done():
                        self._idle()
            return
        deadline = time.monotonic() + timeout
        while not fut.done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{fut.opcode} still in flight after {timeout} s (it keeps running; cancel() it to stop it)")
            if self._reap(min(_WAIT_SLICE_MS, max(1, math.ceil(left * 1000)))) == 0 and not fut.done():
                self._idle()

    def _idle(self):
        # Nothing came back although the future is pending. If nothing is in the kernel either,
        # its completion is being delivered off-thread (a rare race); it is about to arrive.
        if self._native.RingInFlight_nb(self._handle) == 0:
            time.sleep(0.0005)

    def _next_token(self):
        """A free token for a new operation. (The hot paths — nop, read, write, send, recv and the
        blocking helpers — inline these three lines: a method call is measurable there.)"""
        token = next(self._tokens)
        if token >= self._token_limit:
            token = self._wrap_token()
        return token

    def _wrap_token(self):
        """Tokens stay below 2^31 (the 32-bit entry points take them); past that they start again
        at 1, skipping those still in flight (every token is checked from then on)."""
        self._token_limit = 0
        while True:
            token = next(self._tokens)
            if token >= _TOKEN_LIMIT:
                self._tokens = itertools.count(1)
            elif token not in self._pending:
                return token

    def _token_range(self, count):
        """The first of ``count`` consecutive free tokens (for nop_batch)."""
        first = next(self._tokens)
        if first + count > self._token_limit:
            self._token_limit = 0
            while True:
                if first + count >= _TOKEN_LIMIT:
                    first = 1
                clash = next((t for t in range(first, first + count) if t in self._pending), None)
                if clash is None:
                    break
                first = clash + 1
        self._tokens = itertools.count(first + count)
        return first

    # ------------------------------------------------------------------ asyncio

    def _attach(self, loop):
        if self._loop is loop:
            return
        self._h()
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.remove_reader(self._eventfd)
            except Exception:
                pass
        loop.add_reader(self._eventfd, self._on_eventfd)
        self._loop = loop
        self._kick_scheduled = False  # a kick scheduled on a previous loop may never have run

    def _on_eventfd(self):
        try:
            os.read(self._eventfd, 8)
        except BlockingIOError:
            pass
        if not self.closed:
            self._reap(0)

    def _detach(self):
        loop, self._loop = self._loop, None
        self._kick_scheduled = False
        if loop is not None and not loop.is_closed():
            try:
                loop.remove_reader(self._eventfd)
            except Exception:
                pass

    # ------------------------------------------------------------------ driving

    def submit(self):
        """Submits everything prepared, dispatches whatever is already complete; returns how many completed."""
        self._h()
        return self._reap(0)

    def poll(self, timeout=0):
        """Reaps and dispatches completions, waiting up to ``timeout`` seconds (None: until one
        arrives) if none is ready; returns how many. Waits in slices, so Ctrl-C gets through."""
        self._h()
        if timeout == 0:
            return self._reap(0)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left_ms = _WAIT_SLICE_MS if deadline is None else int(math.ceil((deadline - time.monotonic()) * 1000))
            n = self._reap(max(0, min(_WAIT_SLICE_MS, left_ms)))
            if n or left_ms <= _WAIT_SLICE_MS and deadline is not None or not self._pending:
                return n

    def wait(self, futures, timeout=None):
        """Waits for all ``futures``; returns their results (raising the first error)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        out = []
        for f in futures:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            out.append(f.result(left))
        return out

    # ------------------------------------------------------------------ operations

    def nop(self):
        """IORING_OP_NOP (result 0)."""
        if self.closed or get_ident() != self._owner:
            self._h()
        token = next(self._tokens)
        if token >= self._token_limit:
            token = self._wrap_token()
        if self._nop_fn(self._id, token) < 0:
            raise self._native.last_error("NOP")
        fut = Future(self, token, "NOP")
        self._pending[token] = fut
        if self._loop is not None and not self._kick_scheduled:
            self._schedule_kick()
        return fut

    def nop_batch(self, count, keep_results=False):
        """``count`` NOPs started with one call; a BatchFuture (result: the count, or the list of results)."""
        h = self._h()
        count = int(count)
        if count <= 0:
            raise ValueError("count must be positive")
        if count >= 1 << 24:
            raise ValueError("count must be below 2**24")
        first = self._token_range(count)
        started = self._native.NopBatch_nb(h, first, count)
        if started < 0:
            raise self._native.last_error("NOP")
        batch = BatchFuture(self, first, started, "NOP", keep_results)
        self._pending.update(dict.fromkeys(range(first, first + started), batch))
        if self._loop is not None and not self._kick_scheduled:
            self._schedule_kick()
        if started < count:
            # the rest was refused: result() raises that error once the started ones finish
            batch._refused = self._native.last_error("NOP")
        return batch

    def read(self, fd, buffer, offset=-1, length=-1, *, timeout=None):
        """IORING_OP_READ into ``buffer`` (a Buffer; ``length`` -1 = all of it) at ``offset`` (-1: the
        file position). The result is the byte count; ``buffer`` is the program's again when the
        future is done. With ``timeout`` (seconds) the read is linked to an IORING_OP_LINK_TIMEOUT
        and fails with OperationTimeoutError if it fires first."""
        if self.closed or get_ident() != self._owner:
            self._h()
        if type(buffer) is Buffer and buffer._exporter is None and not buffer._views and buffer._handle is not None:
            bid = buffer._id  # the common case of Buffer._lend, inlined: this is the hot path
        else:
            bid = _buffer_id(buffer)
        if (fd | (length + 1)) >> 31:
            _check_ints(fd, length)
        token = next(self._tokens)
        if token >= self._token_limit:
            token = self._wrap_token()
        if timeout is None:
            rc = self._read_fn(self._id, token, fd, bid, offset & 0xFFFFFFFF, offset >> 32, length, 0)
        elif timeout * 1e6 < _TOKEN_LIMIT:
            rc = self._read_fn(self._id, token, fd, bid, offset & 0xFFFFFFFF, offset >> 32, length, max(1, int(timeout * 1e6)))
        else:
            rc = self._native.Read_nb(self._handle, token, fd, buffer._handle, offset, length, int(timeout * 1e9))
        if rc < 0:
            raise self._native.last_error("READ")
        fut = Future(self, token, "READ", buffer)
        self._pending[token] = fut
        if self._loop is not None and not self._kick_scheduled:
            self._schedule_kick()
        return fut

    def _submitted_outgoing(self, rc, token, op, buffer, temp):
        """Ends write/send: on failure the temporary copy is freed; otherwise the future keeps
        it (or the caller's Buffer) until the CQE."""
        if rc < 0:
            if temp is not None:
                temp.close()
            raise self._native.last_error(op)
        fut = Future(self, token, op, None if temp is not None else buffer)
        fut._temp_buffer = temp
        return self._submitted(fut)

    def write(self, fd, data, offset=-1, length=-1):
        """IORING_OP_WRITE of ``data`` — a Buffer (lent to the kernel until completion), or any
        bytes-like object (copied into a temporary Buffer) — at ``offset`` (-1: the file position).
        The result is the byte count."""
        self._h()
        buffer, temp, length = _outgoing(data, length)
        bid = _buffer_id(buffer)
        if (fd | (length + 1)) >> 31:
            _check_ints(fd, length)
        token = next(self._tokens)
        if token >= self._token_limit:
            token = self._wrap_token()
        rc = self._write_fn(self._id, token, fd, bid, offset & 0xFFFFFFFF, offset >> 32, length)
        return self._submitted_outgoing(rc, token, "WRITE", buffer, temp)

    def openat(self, path, flags=os.O_RDONLY, mode=0o644, dir_fd=AT_FDCWD):
        """IORING_OP_OPENAT (O_CLOEXEC is always added); the result is the new fd."""
        h = self._h()
        return self._start(h, "OPENAT", self._native.OpenAt_nb, dir_fd, os.fsencode(path), flags, mode)

    open = openat

    def statx(self, path, flags=0, dir_fd=AT_FDCWD, mask=0x7FF):
        """IORING_OP_STATX on ``path`` (relative to ``dir_fd``); with flags AT_EMPTY_PATH (0x1000) and
        path "" it stats ``dir_fd`` itself. The result is a StatxResult."""
        h = self._h()
        token = self._next_token()
        self._check(self._native.Statx_nb(h, token, dir_fd, os.fsencode(path), flags, mask), "STATX")
        return self._submitted(Future(self, token, "STATX", convert=lambda _, t=token: self._take_statx(t)))

    def _take_statx(self, token):
        info = _StatxInfo()
        self._check(self._native.StatxTake_nb(self._handle, token, ctypes.byref(info)), "STATX")
        return StatxResult(*(getattr(info, name) for name, _ in _StatxInfo._fields_))

    def close_fd(self, fd):
        """IORING_OP_CLOSE (result 0)."""
        h = self._h()
        return self._start(h, "CLOSE", self._native.Close_nb, fd)

    def fsync(self, fd, datasync=False):
        """IORING_OP_FSYNC (with IORING_FSYNC_DATASYNC when ``datasync``)."""
        h = self._h()
        return self._start(h, "FSYNC", self._native.Fsync_nb, fd, 1 if datasync else 0)

    def timeout(self, seconds, count=0):
        """IORING_OP_TIMEOUT: result True when ``seconds`` elapsed, False when ``count`` (> 0) other completions came first."""
        h = self._h()
        return self._start(h, "TIMEOUT", self._native.Timeout_nb, int(seconds * 1e9), count, convert=bool)

    def sleep(self, seconds):
        """``await ring.sleep(s)``: a timeout operation as an awaitable."""
        return self.timeout(seconds)

    def readv(self, fd, buffers, offset=-1):
        """IORING_OP_READV: scatters into ``buffers`` (1 to 16 Buffers, each lent until completion); the result is the total byte count."""
        return self._vector("ReadV", "READV", fd, buffers, offset)

    def writev(self, fd, buffers, offset=-1):
        """IORING_OP_WRITEV: gathers from ``buffers`` (1 to 16 Buffers); the result is the total byte count."""
        return self._vector("WriteV", "WRITEV", fd, buffers, offset)

    def _vector(self, entry, opcode, fd, buffers, offset):
        h = self._h()
        buffers = list(buffers)
        if len(set(map(id, buffers))) != len(buffers):
            raise ValueError("the same Buffer appears twice")
        handles = (c_void_p * max(1, len(buffers)))(*[_buffer_handle(b) for b in buffers])
        token = self._next_token()
        self._check(getattr(self._native, entry + "_nb")(h, token, fd, handles, len(buffers), offset), opcode)
        return self._submitted(Future(self, token, opcode, tuple(buffers)))

    def fallocate(self, fd, offset, length, mode=0):
        """IORING_OP_FALLOCATE (fallocate(2) ``mode``; 0 allocates and extends)."""
        h = self._h()
        return self._start(h, "FALLOCATE", self._native.Fallocate_nb, fd, offset, length, mode)

    def splice(self, fd_in, offset_in, fd_out, offset_out, length, flags=0):
        """IORING_OP_SPLICE: moves up to ``length`` bytes; one side is a pipe (its offset -1). The result is the byte count."""
        h = self._h()
        return self._start(h, "SPLICE", self._native.Splice_nb, fd_in, offset_in, fd_out, offset_out, length, flags)

    def tee(self, fd_in, fd_out, length, flags=0):
        """IORING_OP_TEE: duplicates up to ``length`` bytes from one pipe to another without consuming them."""
        h = self._h()
        return self._start(h, "TEE", self._native.Tee_nb, fd_in, fd_out, length, flags)

    def poll_add(self, fd, events=1):
        """One-shot IORING_OP_POLL_ADD for ``events`` (select.POLLIN, POLLOUT, ...); the result is the events that became ready."""
        h = self._h()
        return self._start(h, "POLL_ADD", self._native.PollAdd_nb, fd, events)

    # ------------------------------------------------------------------ sockets

    def socket(self, family=2, type=1, proto=0):
        """IORING_OP_SOCKET (defaults: AF_INET, SOCK_STREAM; SOCK_CLOEXEC is added); the result is the fd."""
        h = self._h()
        return self._start(h, "SOCKET", self._native.Socket_nb, int(family), int(type), int(proto))

    def bind(self, fd, address):
        """Binds ``fd`` to ``(host, port)`` (IORING_OP_BIND, or bind(2) where the kernel lacks it)."""
        h = self._h()
        host, port = address[0], address[1]
        return self._start(h, "BIND", self._native.Bind_nb, fd, host.encode(), int(port))

    def listen(self, fd, backlog=511):
        """IORING_OP_LISTEN (or listen(2) where the kernel lacks it)."""
        h = self._h()
        return self._start(h, "LISTEN", self._native.Listen_nb, fd, int(backlog))

    def accept(self, fd):
        """IORING_OP_ACCEPT on a listening socket; the result is the new connection's fd."""
        h = self._h()
        return self._start(h, "ACCEPT", self._native.Accept_nb, fd)

    def connect(self, fd, address):
        """IORING_OP_CONNECT to ``(host, port)``."""
        h = self._h()
        host, port = address[0], address[1]
        return self._start(h, "CONNECT", self._native.Connect_nb, fd, host.encode(), int(port))

    def send(self, fd, data, length=-1, flags=0):
        """IORING_OP_SEND of ``data`` (a Buffer, lent until completion, or bytes-like, copied); the result is the byte count."""
        self._h()
        buffer, temp, length = _outgoing(data, length)
        bid = _buffer_id(buffer)
        if (fd | (length + 1)) >> 31:
            _check_ints(fd, length)
        token = next(self._tokens)
        if token >= self._token_limit:
            token = self._wrap_token()
        rc = self._native.SendI(self._id, token, fd, bid, length, flags)
        return self._submitted_outgoing(rc, token, "SEND", buffer, temp)

    def send_zc(self, fd, buffer, length=-1, flags=0):
        """IORING_OP_SEND_ZC from a Buffer: the kernel sends straight from its pages, so the
        Buffer stays lent until the kernel's notification CQE, not just until the send's own
        result; the Future completes then, with the byte count."""
        h = self._h()
        if not isinstance(buffer, Buffer):
            raise TypeError("send_zc needs a uring.Buffer (zero-copy sends from the caller's memory)")
        token = self._next_token()
        self._check(self._native.SendZeroCopy_nb(h, token, fd, _buffer_handle(buffer), length, flags), "SEND_ZC")
        return self._submitted(Future(self, token, "SEND_ZC", buffer))

    def recv(self, fd, buffer, length=-1, flags=0):
        """IORING_OP_RECV into ``buffer``; the result is the byte count (0: the peer closed)."""
        h = self._h()
        bid = _buffer_id(buffer)
        if (fd | (length + 1)) >> 31:
            _check_ints(fd, length)
        token = next(self._tokens)
        if token >= self._token_limit:
            token = self._wrap_token()
        self._check(self._native.RecvI(self._id, token, fd, bid, length, flags), "RECV")
        return self._submitted(Future(self, token, "RECV", buffer))

    def recv_provided(self, fd, buffer_ring, flags=0):
        """IORING_OP_RECV with IOSQE_BUFFER_SELECT from ``buffer_ring``: the kernel picks a buffer only
        when data arrives. The result is a ReceivedBuffer (release it to give the buffer back)."""
        h = self._h()
        if not isinstance(buffer_ring, BufferRing) or buffer_ring._handle is None:
            raise TypeError("expected an open uring.BufferRing")
        token = self._next_token()
        self._check(self._native.RecvProvided_nb(h, token, fd, buffer_ring._handle, flags), "RECV")
        return self._submitted(Future(self, token, "RECV", convert=lambda n, t=token: self._received(t, n)))

    def _received(self, token, nbytes):
        return ReceivedBuffer(self, self._check(self._native.LeaseTake_nb(self._handle, token), "RECV"), nbytes)

    def accept_multishot(self, fd):
        """Multishot accept (IORING_ACCEPT_MULTISHOT) on a listening socket: a Stream of accepted fds
        (``for fd in stream`` / ``async for fd in stream``) until ``stream.cancel()`` or an error."""
        h = self._h()
        token = self._next_token()
        self._check(self._native.AcceptMultishot_nb(h, token, fd), "ACCEPT")
        return self._submitted(Stream(self, token, "ACCEPT", None))

    def recv_multishot(self, fd, buffer_ring, flags=0):
        """Multishot receive (IORING_RECV_MULTISHOT) with buffers the kernel picks from ``buffer_ring``:
        a Stream of ReceivedBuffer (release each) that ends when the peer closes."""
        h = self._h()
        if not isinstance(buffer_ring, BufferRing) or buffer_ring._handle is None:
            raise TypeError("expected an open uring.BufferRing")
        token = self._next_token()
        self._check(self._native.RecvMultishot_nb(h, token, fd, buffer_ring._handle, flags), "RECV")
        return self._submitted(Stream(self, token, "RECV", lambda n, t=token: self._received(t, n)))

    def shutdown(self, fd, how=2):
        """IORING_OP_SHUTDOWN (0 SHUT_RD, 1 SHUT_WR, 2 SHUT_RDWR)."""
        h = self._h()
        return self._start(h, "SHUTDOWN", self._native.Shutdown_nb, fd, int(how))

    def chain(self, hard=False):
        """A Chain of linked operations (see Chain)."""
        return Chain(self, hard)

    def buffer_ring(self, count, size):
        """A BufferRing of ``count`` (a power of two) buffers of ``size`` bytes, for recv_provided."""
        return BufferRing(self, count, size)

    # ------------------------------------------------------------------ blocking helpers

    def nop_wait(self):
        """A NOP submitted and waited for in one call (no Future): the cheapest round trip."""
        if self.closed or get_ident() != self._owner:
            self._h()
        token = next(self._tokens)
        if token >= self._token_limit:
            token = self._wrap_token()
        rc = self._nop_wait_fn(self._id, token, _WAIT_SLICE_MS)
        if rc >= 0:
            return rc
        return self._blocking_rest(rc, token, "NOP", None, None, 0)

    def pread(self, fd, buffer, offset=-1, length=-1, timeout=None):
        """Like ``os.pread`` into ``buffer``: submits a READ and waits for it, in one call when it
        completes quickly; returns the byte count. With ``timeout`` (seconds), a read still
        pending then is cancelled (its CQE awaited: the buffer is back) and OperationTimeoutError
        raised. Completions of other operations that arrive meanwhile are queued as usual."""
        return self._blocking_io(self._read_wait_fn, "READ", fd, buffer, offset, length, timeout)

    def pwrite(self, fd, buffer, offset=-1, length=-1, timeout=None):
        """Like ``os.pwrite`` from a Buffer (see ``pread``); returns the byte count."""
        return self._blocking_io(self._write_wait_fn, "WRITE", fd, buffer, offset, length, timeout)

    def _blocking_io(self, wait_fn, opcode, fd, buffer, offset, length, timeout):
        if self.closed or get_ident() != self._owner:
            self._h()
        bid = _buffer_id(buffer)
        if (fd | (length + 1)) >> 31:
            _check_ints(fd, length)
        token = next(self._tokens)
        if token >= self._token_limit:
            token = self._wrap_token()
        started = 0 if timeout is None else time.monotonic()
        n = wait_fn(self._id, token, fd, bid, offset & 0xFFFFFFFF, offset >> 32, length, _slice_ms(timeout))
        if n >= 0:
            return n
        return self._blocking_rest(n, token, opcode, buffer, timeout, started)

    def _blocking_rest(self, rc, token, opcode, buffer, timeout, started):
        """A *Wait call came back early: the operation goes on as a Future under ``token``."""
        if rc != _native.PENDING:
            raise self._native.last_error(opcode)
        fut = self._submitted(Future(self, token, opcode, buffer))
        if timeout is None:
            return fut.result()
        try:
            return fut.result(max(0.0, timeout - (time.monotonic() - started)))
        except TimeoutError as e:
            if isinstance(e, UringError):
                raise
        fut.cancel()
        try:
            return fut.result()  # the CQE: cancelled, or it completed after all
        except OperationCancelledError:
            raise OperationTimeoutError(_errno.ETIME, f"{opcode} did not complete within {timeout} s; it was cancelled") from None

    def _cancel(self, fut):
        h = self._h()
        token = self._next_token()
        self._check(self._native.Cancel_nb(h, fut._token, token), "ASYNC_CANCEL")
        return self._submitted(Future(self, token, "ASYNC_CANCEL", convert=CancelOutcome))

    # ------------------------------------------------------------------ lifetime

    def close(self):
        """Cancels what is in flight, waits (bounded by ``shutdown_timeout``) for the kernel's
        completions, fails the remaining futures with the outcome, and frees the ring."""
        if self.closed:
            return
        if threading.get_ident() != self._owner:
            raise UringStateError(_errno.EINVAL, "a Ring must be closed by the thread that created it")
        native, h = self._native, self._handle
        self._detach()
        rc = native.RingClose(h)
        if rc < 0:
            raise native.last_error()
        self.closed = True
        try:
            while True:  # everything that was in flight ended; hand the outcomes to the futures
                n = native.Reap(h, self._cbuf, self._capacity, 0)
                if n <= 0:
                    break
                self._dispatch(n)
            for fut in list(self._pending.values()):
                if isinstance(fut, BatchFuture):
                    while fut._remaining:
                        fut._complete_one(fut._first, -_errno.EBADF, KIND_RING_DISPOSED)
                elif isinstance(fut, Stream):
                    if not fut._ended:
                        fut._complete_one(fut._token, -_errno.EBADF, KIND_RING_DISPOSED)
                elif not fut.done():
                    fut._complete(-_errno.EBADF, KIND_RING_DISPOSED)
            self._pending.clear()
        finally:
            native.RingFree(h)
            self._handle = None
            _open_rings.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    async def __aenter__(self):
        self._attach(_asyncio().get_running_loop())
        return self

    async def __aexit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            if not self.closed and threading.get_ident() == self._owner:
                self.close()
        except Exception:
            pass


def _check_ints(fd, length):
    # The 32-bit entry points take plain ints: refuse what would not fit rather than truncate it.
    if not -(1 << 31) <= fd < 1 << 31:
        raise OverflowError(f"fd {fd} does not fit in a C int")
    if not -1 <= length < 1 << 31:
        raise UringArgumentError(_errno.EINVAL, f"length {length} must be -1 (the whole buffer) or 0 to 2**31-1")


def _buffer_id(buffer):
    if type(buffer) is not Buffer and not isinstance(buffer, Buffer):
        raise TypeError(f"expected a uring.Buffer, got {type(buffer).__name__}")
    return buffer._lend_id()


def _buffer_handle(buffer):
    if type(buffer) is not Buffer and not isinstance(buffer, Buffer):
        raise TypeError(f"expected a uring.Buffer, got {type(buffer).__name__}")
    return buffer._lend()
