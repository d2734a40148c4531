"""Futures: the pending result of one operation (Future), of a batch (BatchFuture), and gather()."""

import enum
import struct
import sys

from .errors import KIND_CANCELLED, KIND_NONE, BufferBusyError, make_error

__all__ = ["Future", "BatchFuture", "CancelOutcome", "gather"]

_WAIT_SLICE_MS = 200  # longest single wait inside the runtime (see Ring._wait_for)
_COMPLETION = struct.Struct("<QiI")   # src/Scripting/Completion.cs
_unpack_completion = _COMPLETION.unpack_from


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
            res = self._convert(self._token, res)
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
                reap = ring._reap_nb  # (a local: calling an instance attribute directly is a slower LOAD_METHOD)
                n = reap(ring._id, 0)
                if n == 1:
                    token, res, status = _unpack_completion(ring._cbuf)
                    if token == self._token and not status and self._convert is None and self._temp_buffer is None \
                            and self._waiter is None and self._callbacks is None:
                        # this future's own successful completion, nothing else to run: what _complete does, inline
                        ring._pending.pop(token, None)
                        self._state = _DONE
                        self._res = res
                        return res
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
            return completed_future(self._ring, "ASYNC_CANCEL", CancelOutcome.ALREADY_COMPLETED)
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


def completed_future(ring, opcode, value):
    f = Future(ring, 0, opcode)
    f._state = _DONE
    f._res = value
    return f
