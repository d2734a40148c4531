"""Streams: the items of a multishot operation, iterated synchronously or in asyncio."""

import collections
import os

from .errors import KIND_CANCELLED, make_error
from .future import _asyncio

__all__ = ["Stream"]

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
            self._items.append(res if self._convert is None else self._convert(token, res))
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


class _Ended:
    __slots__ = ("_stream", "opcode")

    def __init__(self, stream):
        self._stream = stream
        self.opcode = stream.opcode

    def done(self):
        return self._stream._ended
