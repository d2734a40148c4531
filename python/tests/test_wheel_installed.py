"""The check test_wheel.py runs with the Python of a venv that has the wheel installed, from a
temporary folder, with no .NET runtime reachable:

    python -I test_wheel_installed.py CHECKOUT SITE_PACKAGES [--hidden]

It reads a file through ``Ring.read`` and compares the bytes, makes a socket round trip and
awaits an operation in asyncio, all through the installed package (and checks that the
library's ``uring_export`` refuses cleanly), then reads
``/proc/self/maps``: no part of the .NET runtime may be loaded (nor ICU), and the native code
must come from the installed package. With ``--hidden`` the checkout must look empty (a mount hides it).
Exit status 0 and a last line starting with "wheel check passed" on success.

Not a unittest module: discovery imports it and finds no tests.
"""

import asyncio
import os
import shutil
import socket
import sys

# File names of the .NET runtime's native parts, any of which would mean it was started.
RUNTIME_FILES = ("libhostfxr", "libhostpolicy", "libcoreclr", "libclrjit", "System.Private.CoreLib", "libmonosgen")


def _under(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def check_environment(checkout, hidden):
    on_path = [p for p in sys.path if p and _under(os.path.abspath(p), checkout)]
    assert not on_path, f"the checkout is on sys.path: {on_path}"
    assert shutil.which("dotnet") is None, f"dotnet is on PATH: {shutil.which('dotnet')}"
    leaked = sorted(k for k in os.environ if k.startswith("DOTNET_") or k in ("URING_SCRIPTING_DIR", "PYTHONPATH"))
    assert not leaked, f"environment variables that could reach .NET or the checkout: {leaked}"
    if hidden:
        assert os.listdir(checkout) == [], f"the checkout {checkout} is not hidden: {os.listdir(checkout)[:5]}"


def read_a_file(ring, uring):
    data = os.urandom(3 * 4096 + 123)
    path = os.path.abspath("read-me.bin")
    with open(path, "wb") as f:
        f.write(data)
    with uring.Buffer(len(data)) as buf:
        fd = ring.openat(path).result(10)
        n = ring.read(fd, buf, 0).result(10)
        assert (n, buf.bytes(n)) == (len(data), data), f"read {n} bytes, not the {len(data)} written"
        n = ring.read(fd, buf, 4096, 100).result(10)
        assert buf.bytes(n) == data[4096:4196], "a read at an offset returned other bytes"
        ring.close_fd(fd).result(10)
    os.unlink(path)


def socket_round_trip(ring, uring):
    listener = ring.socket(socket.AF_INET, socket.SOCK_STREAM).result(10)
    assert ring.bind(listener, ("127.0.0.1", 0)).result(10) == 0
    assert ring.listen(listener, 4).result(10) == 0
    s = socket.socket(fileno=listener)
    port = s.getsockname()[1]
    s.detach()
    client = ring.socket().result(10)
    accepted = ring.accept(listener)
    assert ring.connect(client, ("127.0.0.1", port)).result(10) == 0
    server = accepted.result(10)
    with uring.Buffer(64) as buf:
        assert ring.send(client, b"ping").result(10) == 4
        assert ring.recv(server, buf).result(10) == 4 and buf.bytes(4) == b"ping"
        assert ring.send(server, b"pong!").result(10) == 5
        assert ring.recv(client, buf).result(10) == 5 and buf.bytes(5) == b"pong!"
    for fd in (client, server, listener):
        ring.close_fd(fd).result(10)


def asyncio_read(ring, uring):
    async def main():
        r, w = os.pipe()
        try:
            with uring.Buffer(16) as buf:
                pending = ring.read(r, buf)            # waits in the kernel: the pipe is empty
                asyncio.get_running_loop().call_later(0.05, os.write, w, b"asyncio")
                n = await asyncio.wait_for(pending, 10)  # woken through the ring's eventfd
                assert buf.bytes(n) == b"asyncio", buf.bytes(n)
        finally:
            os.close(r)
            os.close(w)
        assert await ring.nop() == 0

    asyncio.run(main())


def check_export_by_name_refuses(native):
    """uring_export resolves names by reflection, which the NativeAOT library has not got: it must
    fail cleanly (EINVAL, a message naming the way out), not hand back a pointer or crash."""
    import ctypes
    address = ctypes.c_void_p()
    rc = native._library.uring_export(b"Version", ctypes.byref(address))
    error = native.last_error()
    assert (rc, address.value) == (-22, None), (rc, address.value)
    assert "bind the uring_* symbols" in str(error), error


def check_dotnet_route_refuses(uring):
    """uring.dotnet needs the .NET runtime, which the wheel has not got: a HostingError naming
    the way out, not a symbol lookup failure from deep inside the loader."""
    info = uring.runtime_info()
    assert info["mode"] == "aot" and info["hostfxr"] is None, info
    try:
        import uring.dotnet  # noqa: F401
    except uring.HostingError as e:
        assert "NativeAOT" in str(e) and "URING_SCRIPTING_DIR" in str(e), e
    else:
        raise AssertionError("import uring.dotnet succeeded without a .NET runtime")


def check_loaded_code(site):
    with open("/proc/self/maps") as f:
        files = {line.split(None, 5)[5].strip() for line in f if len(line.split(None, 5)) == 6}
    runtime = sorted(p for p in files if any(os.path.basename(p).startswith(n) for n in RUNTIME_FILES))
    assert not runtime, f"the .NET runtime is loaded: {runtime}"
    # The library is published with invariant globalization: it must not need ICU either.
    icu = sorted(p for p in files if os.path.basename(p).startswith("libicu"))
    assert not icu, f"ICU is loaded: {icu}"
    for name in ("Uring.Scripting.so", "liburing-ffi.so.2"):
        mapped = sorted(p for p in files if os.path.basename(p) == name)
        assert mapped and all(_under(p, site) for p in mapped), f"{name} mapped from {mapped or 'nowhere'}, not from {site}"
    return sorted(p for p in files if p.startswith("/") and ".so" in p and not _under(p, sys.base_prefix))


def main(argv):
    checkout, site = argv[1], argv[2]
    check_environment(checkout, "--hidden" in argv)
    import uring
    from uring import _native
    assert _under(uring.__file__, site), f"uring imported from {uring.__file__}, not from {site}"
    native = _native.load()
    assert native.mode == "aot" and _under(native.library, site), (native.mode, native.library)
    check_export_by_name_refuses(native)
    check_dotnet_route_refuses(uring)
    with uring.Ring() as ring:
        read_a_file(ring, uring)
        socket_round_trip(ring, uring)
        asyncio_read(ring, uring)
    libraries = check_loaded_code(site)
    print("shared libraries loaded from outside Python's installation:", *libraries, sep="\n  ")
    print(f"wheel check passed: {uring.__file__}, {native.library}")


if __name__ == "__main__":
    main(sys.argv)
