"""A PEP 517 build backend for shm_interop, standard library only, so that `pip install ./python` works
with no network: pip runs it from this tree (backend-path) and installs nothing to build.

It builds a pure-Python wheel of the shm_interop folder (py3-none-any), an sdist of this folder, and an
editable wheel (PEP 660: a .pth file pointing here). The metadata comes from pyproject.toml's [project]
table: the simple `key = "value"` lines name, version, description, requires-python and license.
"""
import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the python/ folder
PACKAGE = "shm_interop"
FIELDS = ("name", "version", "description", "requires-python", "license")
# fixed timestamps, so the same sources give the same wheel byte for byte
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _project():
    """The [project] table's simple string fields."""
    with open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    table = re.search(r"^\[project\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M)
    if table is None:
        raise RuntimeError("pyproject.toml has no [project] table")
    found = dict(re.findall(r'^([a-z-]+) = "([^"\n]*)"$', table.group(1), re.M))
    missing = [key for key in FIELDS if key not in found]
    if missing:
        raise RuntimeError(f"pyproject.toml's [project] lacks {', '.join(missing)}")
    return found


def _names():
    project = _project()
    dist = re.sub(r"[-_.]+", "_", project["name"]).lower()
    return project, dist, f"{dist}-{project['version']}"


def _metadata(project):
    return (
        "Metadata-Version: 2.1\n"
        f"Name: {project['name']}\n"
        f"Version: {project['version']}\n"
        f"Summary: {project['description']}\n"
        f"Requires-Python: {project['requires-python']}\n"
        f"License: {project['license']}\n"
    ).encode()


WHEEL = b"Wheel-Version: 1.0\nGenerator: shm_interop_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _sources():
    """(path in the wheel, bytes) of every .py file of the package, in a fixed order."""
    root = os.path.join(HERE, PACKAGE)
    for name in sorted(os.listdir(root)):
        if name.endswith(".py"):
            with open(os.path.join(root, name), "rb") as f:
                yield f"{PACKAGE}/{name}", f.read()


def _write_wheel(wheel_directory, files):
    project, dist, stem = _names()
    info = f"{stem}.dist-info"
    files = list(files) + [(f"{info}/METADATA", _metadata(project)), (f"{info}/WHEEL", WHEEL)]
    record = []
    for path, data in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode()))
    filename = f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files:
            entry = zipfile.ZipInfo(path, ZIP_TIME)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(entry, data)
    return filename


def _write_metadata(metadata_directory):
    project, _, stem = _names()
    info = os.path.join(metadata_directory, f"{stem}.dist-info")
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, "METADATA"), "wb") as f:
        f.write(_metadata(project))
    with open(os.path.join(info, "WHEEL"), "wb") as f:
        f.write(WHEEL)
    return f"{stem}.dist-info"


# PEP 517 hooks


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return _write_metadata(metadata_directory)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, _sources())


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_sdist(sdist_directory, config_settings=None):
    project, _, stem = _names()
    filename = f"{stem}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as sdist:
        def add(path, data):
            entry = tarfile.TarInfo(f"{stem}/{path}")
            entry.size = len(data)
            entry.mode = 0o644
            sdist.addfile(entry, io.BytesIO(data))

        for path, data in _sources():
            add(path, data)
        for path in ("pyproject.toml", "backend/shm_interop_build.py", "README.md"):
            full = os.path.join(HERE, path)
            if os.path.exists(full):
                with open(full, "rb") as f:
                    add(path, f.read())
        add("PKG-INFO", _metadata(project))
    return filename


# PEP 660 (pip install -e ./python): a wheel holding only a .pth file that puts this folder on sys.path


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    return _write_metadata(metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [(f"{PACKAGE}.pth", (HERE + "\n").encode())])
