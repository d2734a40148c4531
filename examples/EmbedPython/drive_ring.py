"""Drives an io_uring ring through the C# façade from Python embedded in a C# program.

EmbedPython runs it with Python.NET; the façade's assemblies are the host's own, so
`clr.AddReference("Uring.Core")` finds them. Prints one line per step and exits 0 when every
step behaved as expected (an AssertionError otherwise).
"""

import errno
import os
import sys
import tempfile

import clr

clr.AddReference("Uring.Core")
from System import ArgumentOutOfRangeException, Int32, OperationCanceledException, TimeSpan  # noqa: E402
from Uring import (BufferBusyException, CancelOutcome, FileDescriptor, OwnershipMemory, OwnershipState, Ring,  # noqa: E402
                   RingOptions, RingThreading, UringIOException)

# Operations take a FileDescriptor, which C# converts implicitly from an int; Python.NET applies
# no implicit conversion, so call the int overload of the conversion operator.
fd_of = FileDescriptor.op_Implicit.__overloads__[Int32]


def result(future):
    # Wait() is a method, so Python.NET releases the GIL while it drives the ring; then Result
    # (a property, which would hold the GIL) returns at once.
    future.Wait()
    return future.Result


def main():
    options = RingOptions()
    options.Threading = RingThreading.CallerThread  # this (the embedding) thread drives the ring
    options.Entries = 64
    ring = Ring(options)
    try:
        data = os.urandom(8192)
        fd, path = tempfile.mkstemp(prefix="embed-python-")
        try:
            os.write(fd, data)
            buf = OwnershipMemory.Allocate(8192)
            read = result(ring.Read(fd_of(fd), buf, 0))
            assert read.BytesTransferred == 8192 and bytes(buf.Memory.ToArray()) == data
            print(f"read: {read.BytesTransferred} bytes, identical to the file")
        finally:
            os.close(fd)
            os.unlink(path)

        r, w = os.pipe()
        try:
            pending = OwnershipMemory.Allocate(64)
            future = ring.Read(fd_of(r), pending, -1)
            ring.RunOnce(TimeSpan.Zero)  # submitted: the kernel owns the buffer now
            try:
                pending.Memory
                raise AssertionError("a lent buffer was readable")
            except BufferBusyException:
                print("lent buffer: BufferBusyException")
            outcome = result(future.Cancel())
            try:
                result(future)
                raise AssertionError("a cancelled read completed")
            except OperationCanceledException:
                pass
            assert outcome == CancelOutcome.Cancelled and pending.State == OwnershipState.Released
            os.write(w, b"late")
            assert os.read(r, 16) == b"late"  # the cancelled read took nothing
            print(f"cancel: {outcome}, buffer {pending.State}")
        finally:
            os.close(r)
            os.close(w)

        try:
            result(ring.Read(fd_of(w), OwnershipMemory.Allocate(16), 0))  # w was closed above
            raise AssertionError("a read of a closed fd succeeded")
        except UringIOException as e:
            assert e.Errno == errno.EBADF, e.Errno
            print(f"closed fd: UringIOException {e.ErrnoName} from {e.Opcode}")
        try:
            ring.Read(fd_of(-1), OwnershipMemory.Allocate(16), 0)
            raise AssertionError("a negative fd was accepted")
        except ArgumentOutOfRangeException:
            print("negative fd: ArgumentOutOfRangeException")
    finally:
        ring.Dispose()
    print(f"done (Python {sys.version.split()[0]} inside .NET)")


if __name__ == "__main__":
    main()
