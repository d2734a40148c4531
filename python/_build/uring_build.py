"""A minimal in-tree PEP 517 build backend (standard library only).

The package is pure Python, and this machine reaches no package index: with setuptools as the
backend, pip's build isolation would try to download it (and its editable builds need
``wheel``). This backend needs nothing, so ``pip install python`` and ``pip install -e python``
work offline, with or without build isolation.
"""

import base64
import hashlib
import io
import os
import tarfile
import zipfile

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def _wheel(wheel_directory, files):
    """files: list of (archive name, bytes). Writes the wheel with its RECORD; returns its name."""
    meta = _project()
    dist_info = _dist_info(meta)
    files = list(files) + [
        (f"{dist_info}/METADATA", _metadata(meta)),
        (f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: uring_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    record = io.StringIO()
    for name, data in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.write(f"{name},sha256={digest},{len(data)}\n")
    record.write(f"{dist_info}/RECORD,,\n")
    files.append((f"{dist_info}/RECORD", record.getvalue().encode()))
    filename = f"{meta['name']}-{meta['version']}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, data, zipfile.ZIP_DEFLATED)
    return filename


def _package_files():
    pkg = os.path.join(_ROOT, "uring")
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py"):
            with open(os.path.join(pkg, name), "rb") as f:
                yield f"uring/{name}", f.read()


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
    return _wheel(wheel_directory, _package_files())


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # A .pth line puts python/ on sys.path: the package is used in place, and it finds the
    # assemblies built in this checkout (src/Scripting/bin/...).
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
