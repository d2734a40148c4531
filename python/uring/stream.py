"""Streams: the items of a multishot operation, iterated synchronously or in asyncio."""

import collections
import ctypes
import os

from .errors import KIND_CANCELLED, KIND_IO, make_error
from .future import _asyncio

__all__ = ["Stream", "ResilientAccept", "AcceptBackoff", "AcceptPause"]

_MORE = 0x100  # Completion.MoreFlag: an item of a multishot stream
_EVENT = 0x200  # Completion.EventFlag (with _MORE): news of the stream (a pause), not an item


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
            self._items.append(res if self._convert is None else self._convert(token, res))
        else:
            self._ended = True
            self._status, self._res = status, res
        self._wake()

    def _wake(self):
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
            await self._until_done()
        more, item = self._next_or_end()
        if not more:
            raise StopAsyncIteration
        return item

    async def _until_done(self):
        """Waits in asyncio until done(); a cancelled wait cancels the stream."""
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

    def close(self):
        """Cancels the stream (if running) and waits for its end; items not read are released."""
        self.cancel()
        while not self._ended:
            self._ring._wait_for(_Ended(self), None)
        for item in self._items:
            if hasattr(item, "release"):
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


class AcceptBackoff(collections.namedtuple("AcceptBackoff", "initial maximum", defaults=(None, None))):
    """How long a ``ResilientAccept`` waits between attempts while paused, in seconds (int, float or
    ``timedelta``): ``initial`` (positive; None: 10 ms), doubling after every wait up to ``maximum``
    (at least ``initial``; None: 250 ms). A plain ``(initial, maximum)`` tuple does as well."""

    __slots__ = ()


class AcceptPause(collections.namedtuple("AcceptPause", "kind error backoff paused_for failed_attempts")):
    """What a ``ResilientAccept`` reports about a pause.

    ``kind``: ``"paused"`` (accepting failed for want of descriptors or memory, once per pause),
    ``"retry_failed"`` (a later attempt of the same pause failed again) or ``"resumed"`` (a
    connection was accepted after the pause; it is the next item). ``error``: a ``UringIOError``
    whose ``errno`` says why (EMFILE, ENFILE, ENOBUFS or ENOMEM; for ``"resumed"``, the pause's
    last failure). ``backoff``: seconds until the next attempt (0 for ``"resumed"``).
    ``paused_for``: seconds since the pause's first failure (0 for ``"paused"``).
    ``failed_attempts``: attempts of this pause that failed so far, the first included."""

    __slots__ = ()

    PAUSED, RETRY_FAILED, RESUMED = "paused", "retry_failed", "resumed"


_PAUSE_KINDS = {1: AcceptPause.PAUSED, 2: AcceptPause.RETRY_FAILED, 3: AcceptPause.RESUMED}  # AcceptPauseKind


class _AcceptPauseInfo(ctypes.Structure):
    # src/Scripting/AcceptPauseInfo.cs
    _fields_ = [("backoff_ns", ctypes.c_int64), ("paused_for_ns", ctypes.c_int64), ("kind", ctypes.c_int32),
                ("errno", ctypes.c_int32), ("failed_attempts", ctypes.c_int32)]


class ResilientAccept(Stream):
    """The connections of ``Ring.accept_multishot_resilient``: a multishot accept that pauses instead
    of ending when the process runs out of file descriptors or memory (EMFILE, ENFILE, ENOBUFS,
    ENOMEM), retries after a back-off (a ring timeout: no thread, no descriptor), and goes on yielding
    connections once resources are free. Clients wait in the listen backlog meanwhile.

    Iterate it like any ``Stream`` (``for fd in stream`` / ``async for fd in stream``); each item is
    the fd of an accepted connection, which the consumer owns. ``cancel()`` ends it quietly, also
    while paused; ``close()`` (or leaving ``with``) cancels it and closes the fds nobody took.

    Pauses: ``paused`` and ``pauses`` say what the ring has reported so far; ``last_pause`` is the
    latest report (an ``AcceptPause``). ``add_pause_callback(fn)`` has ``fn(pause)`` called for each
    report, on the thread that iterates, from inside ``next()``/``__anext__`` — also while it waits
    for the next connection, so a pause is heard of when it happens — and never from native code.
    ``retry_now()`` ends the current back-off at once (call it when a descriptor has been freed, e.g.
    a connection closed). Like the ring, the stream is used from the thread that created the ring.
    """

    __slots__ = ("_paused", "pauses", "last_pause", "_callbacks", "_reports")

    def __init__(self, ring, token, opcode, convert):
        super().__init__(ring, token, opcode, convert)
        self._paused = False
        #: pauses begun so far (a pause is counted once however many attempts fail in it)
        self.pauses = 0
        #: the latest AcceptPause reported, or None
        self.last_pause = None
        self._callbacks = []
        self._reports = collections.deque()  # AcceptPause objects the callbacks have not seen yet

    def __repr__(self):
        state = "ended" if self._ended else "paused" if self._paused else "running"
        return f"<uring.ResilientAccept {state}, {self.pauses} pauses, {len(self._items)} waiting>"

    @property
    def paused(self):
        """True while accepting is paused for want of descriptors or memory (as of the completions reaped
        so far); False again once a connection is accepted, and once the stream has ended."""
        return self._paused

    def add_pause_callback(self, fn):
        """Calls ``fn(pause)`` (an ``AcceptPause``) for the pause reports from now on, in order, on the
        thread that iterates the stream, before it hands out the next connection. Reports wait for the
        iteration; ``"retry_failed"`` reports that pile up meanwhile are merged into the latest (its
        ``failed_attempts`` and ``paused_for`` count from the start of the pause). An exception raised
        by ``fn`` cancels the stream and propagates from the iteration."""
        if not callable(fn):
            raise TypeError(f"the pause callback must be callable, not {type(fn).__name__}")
        self._callbacks.append(fn)

    def remove_pause_callback(self, fn):
        """Removes every registration of ``fn``; returns how many there were."""
        before = len(self._callbacks)
        self._callbacks = [f for f in self._callbacks if f != fn]
        return before - len(self._callbacks)

    def retry_now(self):
        """Ends the current back-off now, so the accept is tried again at once (call it when a descriptor
        has become free). Does nothing when the stream is not paused or has ended. In asyncio the retry
        is submitted at the loop's next turn; synchronously, when the ring is next driven (the iteration)."""
        ring = self._ring
        if self._ended or ring.closed:
            return
        ring._check(ring._native.AcceptRetryNow_nb(ring._h(), self._token), self.opcode)
        ring._prepared()  # the timeout's cancel waits in the SQ

    # ------------------------------------------------------------------ completions

    def _complete_one(self, token, res, status):
        if status & _EVENT and status & _MORE:
            self._ring._pending[token] = self
            pause = self._take_pause(token, res)
            if pause.kind == AcceptPause.PAUSED:
                self._paused = True
                self.pauses += 1
            elif pause.kind == AcceptPause.RESUMED:
                self._paused = False
            self.last_pause = pause
            if self._callbacks:
                reports = self._reports
                if pause.kind == AcceptPause.RETRY_FAILED and reports and reports[-1].kind == AcceptPause.RETRY_FAILED:
                    reports[-1] = pause  # its totals include the one it replaces: a long pause queues no more
                else:
                    reports.append(pause)
                self._wake()
            return
        if not status & _MORE:
            self._paused = False
        super()._complete_one(token, res, status)

    def _take_pause(self, token, kind):
        ring = self._ring
        info = _AcceptPauseInfo()
        if ring._native.AcceptPauseTake_nb(ring._handle, token, ctypes.byref(info)) < 0:
            # Cannot happen while every event completion is dispatched once; never let it stop the dispatch.
            info = _AcceptPauseInfo(kind=kind)
        return AcceptPause(_PAUSE_KINDS.get(info.kind, AcceptPause.PAUSED),
                           make_error(KIND_IO, info.errno, None, self.opcode) if info.errno else None,
                           info.backoff_ns / 1e9, info.paused_for_ns / 1e9, info.failed_attempts)

    # ------------------------------------------------------------------ iteration

    def done(self):
        return bool(self._items) or self._ended or bool(self._reports)

    def _report(self):
        """Runs the callbacks for the oldest report not seen yet; an exception cancels the stream."""
        pause = self._reports.popleft()
        try:
            for fn in list(self._callbacks):
                fn(pause)
        except BaseException:
            self.cancel()
            raise

    def __next__(self):
        while True:
            if not self.done():
                self._ring._wait_for(self, None)
            if self._reports:
                self._report()
                continue
            more, item = self._next_or_end()
            if not more:
                raise StopIteration
            return item

    async def __anext__(self):
        while True:
            if not self.done():
                await self._until_done()
            if self._reports:
                self._report()
                continue
            more, item = self._next_or_end()
            if not more:
                raise StopAsyncIteration
            return item

    def close(self):
        """Cancels the stream (if running) and waits for its end; the fds of connections not taken are closed."""
        super().close()
        self._reports.clear()


class _Ended:
    __slots__ = ("_stream", "opcode")

    def __init__(self, stream):
        self._stream = stream
        self.opcode = stream.opcode

    def done(self):
        return self._stream._ended
