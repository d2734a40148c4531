"""Chains of linked operations (IOSQE_IO_LINK / IOSQE_IO_HARDLINK)."""

import ctypes
import errno as _errno
from ctypes import c_void_p

from ._operations import ChainOperations
from .errors import UringStateError
from .future import Future

__all__ = ["Chain"]


class Chain(ChainOperations):
    """Linked operations (IOSQE_IO_LINK, or IOSQE_IO_HARDLINK with ``hard=True``), from
    ``Ring.chain()``: each member starts only after the previous one succeeded (hard links: ended);
    if one fails, the rest end with OperationCancelledError. Every operation can be a member (the
    methods are those of Ring); each add returns that member's Future, and ``link_timeout(seconds)``
    limits the member added just before it. Nothing reaches the kernel before ``submit()`` — which
    leaving a ``with`` block does (without an exception; with one, the members end cancelled). A
    buffer may serve several members (read into it, then write it out): it stays the kernel's
    until the last of them ends.
    """

    __slots__ = ("_ring", "_handle", "_submitted", "__weakref__")

    def __init__(self, ring, hard=False):
        handle = c_void_p()
        ring._check(ring._native.ChainCreate(ring._h(), 1 if hard else 0, ctypes.byref(handle)))
        self._ring = ring
        self._handle = handle.value
        self._submitted = False

    def _add(self, opcode, entry, arguments, *values, convert=None):
        ring = self._ring
        if self._handle is None:
            arguments.discard()
            raise UringStateError(_errno.EINVAL, "this chain was already submitted or freed")
        h = ring._h()
        token = ring._next_token()
        if entry(h, self._handle, token, *values) < 0:
            arguments.discard()
            raise ring._native.last_error(opcode)
        fut = Future(ring, token, opcode, arguments.lent, convert)
        fut._temp_buffer = arguments.temp
        return ring._submitted(fut)

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
