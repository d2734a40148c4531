"""Ring: an io_uring driven by the thread that creates it, synchronously or in asyncio (through
the ring's eventfd). The operations themselves are generated from the operation table
(_operations.py); this module holds the plumbing they share."""

import atexit
import ctypes
import errno as _errno
import itertools
import math
import os
import sys
import threading
import time
import weakref
from ctypes import c_int, c_uint32, c_void_p
from threading import get_ident

from . import _native, _operations
from ._arguments import Arguments
from ._operations import RingOperations
from .buffer import Buffer
from .chain import Chain
from .errors import KIND_RING_DISPOSED, OperationCancelledError, OperationTimeoutError, RingClosedError, UringError, UringStateError
from .future import _COMPLETION, _WAIT_SLICE_MS, BatchFuture, CancelOutcome, Future, _asyncio, _slice_ms
from .resources import (_ResultDetail, _StatxInfo, BufferRing, BufferTable, FileTable, PipeFds, ReceivedBuffer, ReceivedMessage,
                        StatxResult)
from .stream import Stream

__all__ = ["Ring", "AcceptedFd", "AT_FDCWD"]

AT_FDCWD = -100
_RING_FLAG_SQPOLL, _RING_FLAG_NO_DEFER_TASKRUN = 1, 2
_TOKEN_LIMIT = 1 << 31  # tokens are positive 32-bit ints (see Ring._wrap_token)


class AcceptedFd(int):
    """The fd of an accepted connection (an int), with the peer's ``(host, port)`` as ``address``."""

    def __new__(cls, fd, address):
        self = super().__new__(cls, fd)
        self.address = address
        return self


_open_rings = weakref.WeakSet()


def _disable_rings_in_child():
    # The rings' cached fast entry points call .NET directly: route them to the refusal too.
    for ring in list(_open_rings):
        for name in list(vars(ring)):
            if name.startswith(("_fast_", "_wait_")) or name in ("_reap_fn", "_reap_nb"):
                setattr(ring, name, _native._refuse_in_child)


_native._fork_listeners.append(_disable_rings_in_child)


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


class Ring(RingOperations):
    """An io_uring instance (a C# ``Uring.Ring`` driven by the thread that creates it).

    Use it from that thread only. Operations return ``Future`` objects; nothing blocks until
    you wait. Synchronously, ``future.result()`` submits and reaps on the spot. In asyncio,
    ``await future`` registers the ring's eventfd with the loop (``loop.add_reader``); the
    kernel signals it when completions arrive and the ring reaps them in batches — no polling,
    no thread. ``close()`` (or leaving a ``with`` block) cancels what is still in flight and
    waits for the kernel's answers before freeing anything.
    """

    def __init__(self, entries=256, *, sqpoll=False, defer_taskrun=True, shutdown_timeout=5.0, reap_batch=256):
        checks = Arguments()
        entries = checks.uint32(entries, "entries")
        shutdown_ms = checks.int32(int(checks.seconds(shutdown_timeout, "shutdown_timeout") // 1_000_000), "shutdown_timeout")
        reap_batch = checks.int32(reap_batch, "reap_batch", 1)
        native = _native.load()
        flags = (_RING_FLAG_SQPOLL if sqpoll else 0) | (0 if defer_taskrun else _RING_FLAG_NO_DEFER_TASKRUN)
        handle, efd, ident = c_void_p(), c_int(), c_int()
        native.check(native.RingCreate(entries, flags, shutdown_ms, ctypes.byref(handle),
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
        for name in _operations.FAST:  # start-only (GIL held) and waiting (GIL released) forms
            setattr(self, "_fast_" + name[:-1], getattr(n, name))
            setattr(self, "_wait_" + name[:-1], getattr(n, name + "_wait"))
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

    def _arguments(self):
        return Arguments()

    def _start_operation(self, opcode, entry, timeout, arguments, *values, convert=None):
        """Starts an operation through its C entry point (``entry(ring, chain, token, *values)``) and
        returns its Future; with ``timeout`` (seconds) it is linked to an IORING_OP_LINK_TIMEOUT."""
        if timeout is not None:
            with Chain(self) as chain:
                fut = chain._add(opcode, entry, arguments, *values, convert=convert)
                chain.link_timeout(timeout)
            return fut
        h = self._h()
        token = self._next_token()
        if entry(h, 0, token, *values) < 0:
            arguments.discard()
            raise self._native.last_error(opcode)
        fut = Future(self, token, opcode, arguments.lent, convert)
        fut._temp_buffer = arguments.temp
        return self._submitted(fut)

    def _start_stream(self, opcode, entry, arguments, *values, convert=None, stream=Stream):
        """Starts a multishot operation; its items arrive in a ``stream`` (Stream or a subclass)."""
        h = self._h()
        token = self._next_token()
        self._check(entry(h, token, *values), opcode)
        stream = stream(self, token, opcode, convert)
        self._pending[token] = stream
        if self._loop is not None and not self._kick_scheduled:
            self._schedule_kick()
        return stream

    # ------------------------------------------------------------------ results beyond an int

    def _result_bool(self, token, res):
        return bool(res)

    def _result_cancel(self, token, res):
        return CancelOutcome(res)

    def _result_statx(self, token, res):
        info = _StatxInfo()
        self._check(self._native.StatxTake_nb(self._handle, token, ctypes.byref(info)), "STATX")
        return StatxResult(*(getattr(info, name) for name, _ in _StatxInfo._fields_))

    def _detail(self, token, opcode):
        detail = _ResultDetail()
        self._check(self._native.DetailTake_nb(self._handle, token, ctypes.byref(detail)), opcode)
        return detail

    def _result_provided(self, token, res):
        return ReceivedBuffer(self, self._check(self._native.LeaseTake_nb(self._handle, token), "RECV"), res)

    def _result_pipe(self, token, res):
        return PipeFds(res, self._detail(token, "PIPE").value)

    def _result_message(self, token, res):
        detail = self._detail(token, "RECVMSG")
        address = (detail.address.decode(), detail.port) if detail.address else None
        return ReceivedMessage(res, address, detail.flags)

    def _result_accepted(self, token, res):
        detail = self._detail(token, "ACCEPT")
        return AcceptedFd(res, (detail.address.decode(), detail.port) if detail.address else None)

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

    # ------------------------------------------------------------------ beyond the table

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

    def sleep(self, seconds):
        """A Future that completes (with True) after ``seconds``: IORING_OP_TIMEOUT, for asyncio code."""
        return self.timeout(seconds)

    # ------------------------------------------------------------------ chains and registered resources

    def chain(self, hard=False):
        """A Chain of linked operations (see Chain)."""
        return Chain(self, hard)

    def buffer_ring(self, count, size):
        """A BufferRing of ``count`` (a power of two) buffers of ``size`` bytes, for recv_provided and recv_multishot."""
        return BufferRing(self, count, size)

    def register_files(self, capacity):
        """The ring's registered file table (IORING_REGISTER_FILES, sparse) with ``capacity`` slots."""
        return FileTable(self, capacity)

    def register_buffers(self, capacity):
        """The ring's registered buffer table (IORING_REGISTER_BUFFERS, sparse) with ``capacity`` slots."""
        return BufferTable(self, capacity)

    # ------------------------------------------------------------------ blocking helpers

    def nop_wait(self):
        """A NOP submitted and waited for in one call (no Future): the cheapest round trip."""
        if self.closed or get_ident() != self._owner:
            self._h()
        token = next(self._tokens)
        if token >= self._token_limit:
            token = self._wrap_token()
        rc = self._wait_Nop(self._id, token, _WAIT_SLICE_MS)
        if rc >= 0:
            return rc
        return self._blocking_rest(rc, token, "NOP", None, None, 0)

    def pread(self, fd, buffer, offset=-1, length=-1, timeout=None):
        """Like ``os.pread`` into ``buffer``: submits a READ and waits for it, in one call when it
        completes quickly; returns the byte count. With ``timeout`` (seconds), a read still
        pending then is cancelled (its CQE awaited: the buffer is back) and OperationTimeoutError
        raised. Completions of other operations that arrive meanwhile are queued as usual."""
        return self._blocking_io(self._wait_Read, "READ", fd, buffer, offset, length, timeout)

    def pwrite(self, fd, buffer, offset=-1, length=-1, timeout=None):
        """Like ``os.pwrite`` from a Buffer (see ``pread``); returns the byte count."""
        return self._blocking_io(self._wait_Write, "WRITE", fd, buffer, offset, length, timeout)

    def _blocking_io(self, wait_fn, opcode, fd, buffer, offset, length, timeout):
        if self.closed or get_ident() != self._owner:
            self._h()
        bid = _buffer_id(buffer)
        if (fd | (length + 1)) >> 31 or not -1 <= offset < 1 << 63:
            _check_ints(fd, length, offset)
        token = next(self._tokens)
        if token >= self._token_limit:
            token = self._wrap_token()
        started = 0 if timeout is None else time.monotonic()
        try:
            n = wait_fn(self._id, token, fd, bid, offset & 0xFFFFFFFF, offset >> 32, length, _slice_ms(timeout))
            if n >= 0:
                return n
            return self._blocking_rest(n, token, opcode, buffer, timeout, started)
        except BaseException as interruption:
            # Ctrl-C (KeyboardInterrupt) or another exception raised while the operation may still
            # be in flight: nobody holds a Future for it, so cancel it here and wait for its CQE,
            # which gives the buffer back, before letting the exception go.
            if not isinstance(interruption, UringError):
                self._abandon(token, opcode, buffer)
            raise

    def _abandon(self, token, opcode, buffer):
        """Cancels the operation started under ``token`` (if it is in flight) and waits, bounded, for its end."""
        fut = self._pending.get(token)
        if fut is None:
            fut = self._submitted(Future(self, token, opcode, buffer))
        try:
            outcome = self._cancel(fut).result(5)
            if outcome in (CancelOutcome.ALREADY_COMPLETED, CancelOutcome.NOT_FOUND) and not fut.done():
                self._reap(0)  # its completion is queued already, or it never started
            if not fut.done():
                self._wait_for(fut, 5 if outcome == CancelOutcome.CANCELLED else 0.05)
        except (TimeoutError, UringError):
            pass
        if not fut.done():
            self._pending.pop(token, None)

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
        return self._submitted(Future(self, token, "ASYNC_CANCEL", convert=self._result_cancel))

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


def _check_ints(fd, length, offset=0):
    # The 32-bit entry points take plain ints: refuse what would not fit rather than truncate it.
    arguments = Arguments()
    arguments.fd(fd, "fd")
    arguments.length(length, "length")
    arguments.offset(offset, "offset")


def _buffer_id(buffer):
    if not isinstance(buffer, Buffer):
        raise TypeError(f"expected a uring.Buffer, got {type(buffer).__name__}")
    return buffer._lend_id()
