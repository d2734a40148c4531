"""A minimal in-tree PEP 517 build backend (standard library only).

This machine reaches no package index: with setuptools as the backend, pip's build isolation
would try to download it (and its editable builds need ``wheel``). This backend needs nothing,
so ``pip wheel ./python``, ``pip install ./python`` and ``pip install -e python`` work offline, with
or without build isolation.

A wheel carries, besides the Python files, the C ABI of src/Scripting compiled with NativeAOT
(``uring/Uring.Scripting.so``) and the pinned ``uring/liburing-ffi.so.2``: installed, the package
needs no .NET runtime. They come from the folder named by the config setting ``native-dir``
(``pip wheel --config-settings native-dir=DIR``) or ``$URING_WHEEL_NATIVE_DIR``, else from
``dotnet publish`` of the checkout the backend sits in (into ``artifacts/native/linux-x64``;
incremental: unchanged code republishes in tens of seconds). An editable install stays pure
Python: it uses the checkout's build through hostfxr.
"""

import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_REPO = os.path.dirname(_ROOT)
_PROJECT = os.path.join(_REPO, "src", "Scripting", "Uring.Scripting.csproj")
_RUNTIME_ID = "linux-x64"
#: where a build without a given folder publishes (the checkout's git-ignored artifacts/)
PUBLISH_DIR = os.path.join(_REPO, "artifacts", "native", _RUNTIME_ID)
#: the native files a wheel carries, in the package folder
NATIVE_FILES = ("Uring.Scripting.so", "liburing-ffi.so.2")
_ELF_MACHINES = {62: "x86_64"}  # e_machine -> the platform tag's architecture (the liburing pin is x86-64)


def _project():
    meta = {"name": "uring", "version": "0.0.0", "description": "", "requires-python": ">=3.9"}
    try:
        import tomllib  # 3.11+
        with open(os.path.join(_ROOT, "pyproject.toml"), "rb") as f:
            meta.update(tomllib.load(f)["project"])
    except ImportError:  # older Pythons: the version line is enough
        with open(os.path.join(_ROOT, "pyproject.toml"), encoding="utf-8") as f:
            for line in f:
                if line.startswith("version"):
                    meta["version"] = line.split("=", 1)[1].strip().strip('"')
    return meta


def _dist_info(meta):
    return f"{meta['name']}-{meta['version']}.dist-info"


def _metadata(meta):
    text = (f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n"
            f"Summary: {meta.get('description', '')}\nRequires-Python: {meta.get('requires-python', '')}\n")
    readme = os.path.join(_ROOT, "README.md")
    if os.path.exists(readme):
        with open(readme, encoding="utf-8") as f:
            text += "Description-Content-Type: text/markdown\n\n" + f.read()
    return text.encode()


def _wheel(wheel_directory, files, platform="any"):
    """files: list of (archive name, bytes). Writes the wheel with its RECORD; returns its name.
    platform: "any" (pure Python), or the platform tag of the native files it carries."""
    meta = _project()
    dist_info = _dist_info(meta)
    tag = f"py3-none-{platform}"
    purelib = "true" if platform == "any" else "false"
    files = list(files) + [
        (f"{dist_info}/METADATA", _metadata(meta)),
        (f"{dist_info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: uring_build\nRoot-Is-Purelib: {purelib}\nTag: {tag}\n".encode()),
    ]
    record = io.StringIO()
    for name, data in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.write(f"{name},sha256={digest},{len(data)}\n")
    record.write(f"{dist_info}/RECORD,,\n")
    files.append((f"{dist_info}/RECORD", record.getvalue().encode()))
    filename = f"{meta['name']}-{meta['version']}-{tag}.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if ".so" in name else 0o644) << 16
            z.writestr(info, data, zipfile.ZIP_DEFLATED)
    return filename


def _package_files():
    pkg = os.path.join(_ROOT, "uring")
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py"):
            with open(os.path.join(pkg, name), "rb") as f:
                yield f"uring/{name}", f.read()


def _publish():
    """dotnet publish of src/Scripting with NativeAOT, into PUBLISH_DIR; returns that folder."""
    if not os.path.isfile(_PROJECT):
        raise RuntimeError(f"uring_build: no native library given and no checkout to publish one from ({_PROJECT} is missing); "
                           "pass --config-settings native-dir=DIR or set URING_WHEEL_NATIVE_DIR to a folder holding "
                           + " and ".join(NATIVE_FILES))
    dotnet = shutil.which("dotnet")
    if dotnet is None:
        raise RuntimeError("uring_build: building the wheel publishes src/Scripting with NativeAOT, which needs the .NET SDK "
                           "(dotnet on PATH); or pass a published folder with --config-settings native-dir=DIR")
    command = [dotnet, "publish", _PROJECT, "-c", "Release", "-r", _RUNTIME_ID, "-o", PUBLISH_DIR, "-nologo"]
    print("uring_build: " + " ".join(command), file=sys.stderr, flush=True)
    # Its output goes to stderr: a PEP 517 frontend may read stdout.
    subprocess.run(command, check=True, stdout=sys.stderr, cwd=_REPO)
    return PUBLISH_DIR


def _native_dir(config_settings):
    given = (config_settings or {}).get("native-dir") or os.environ.get("URING_WHEEL_NATIVE_DIR")
    folder = os.path.abspath(given) if given else _publish()
    missing = [name for name in NATIVE_FILES if not os.path.isfile(os.path.join(folder, name))]
    if missing:
        raise RuntimeError(f"uring_build: {folder} lacks {', '.join(missing)} (a `dotnet publish -r {_RUNTIME_ID}` output of src/Scripting has both)")
    return folder


def _elf_platform(data, name):
    """The platform tag of a Linux shared library (from its ELF header)."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise RuntimeError(f"uring_build: {name} is not a 64-bit little-endian ELF file")
    machine = int.from_bytes(data[18:20], "little")
    if machine not in _ELF_MACHINES:
        raise RuntimeError(f"uring_build: {name} is built for ELF machine {machine}, not one this package supports")
    return "linux_" + _ELF_MACHINES[machine]


def _native_files(folder):
    """(archive name, bytes) of the native files, and their platform tag."""
    files, platforms = [], set()
    for name in NATIVE_FILES:
        with open(os.path.join(folder, name), "rb") as f:
            data = f.read()
        platforms.add(_elf_platform(data, name))
        files.append((f"uring/{name}", data))
    if len(platforms) != 1:
        raise RuntimeError(f"uring_build: the native files in {folder} are for different platforms: {sorted(platforms)}")
    return files, platforms.pop()


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    meta = _project()
    d = os.path.join(metadata_directory, _dist_info(meta))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "METADATA"), "wb") as f:
        f.write(_metadata(meta))
    return _dist_info(meta)


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    native, platform = _native_files(_native_dir(config_settings))
    return _wheel(wheel_directory, list(_package_files()) + native, platform)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # A .pth line puts python/ on sys.path: the package is used in place, and it finds the
    # assemblies built in this checkout (src/Scripting/bin/...) and runs them through hostfxr.
    return _wheel(wheel_directory, [("__editable__.uring.pth", (_ROOT + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    meta = _project()
    base = f"{meta['name']}-{meta['version']}"
    filename = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as tar:
        for rel in ["pyproject.toml", "README.md", "_build/uring_build.py"] + [n for n, _ in _package_files()]:
            tar.add(os.path.join(_ROOT, rel), arcname=f"{base}/{rel}")
        pkg_info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata(meta)
        pkg_info.size = len(data)
        tar.addfile(pkg_info, io.BytesIO(data))
    return filename
