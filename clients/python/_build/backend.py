"""A PEP 517 build backend for the resweep package, standard library only.

No package index is reachable from the machines resweep is built on, and a
fresh `python3 -m venv` has setuptools but not `wheel` (setuptools needs it
to build a wheel). A pure-Python package needs no more than a zip file with
the right names in it, so this backend writes the wheel itself: pip runs it
from the source tree (pyproject.toml's backend-path) with nothing to
install, with or without build isolation. It reads the name, version,
summary and Python requirement from pyproject.toml's [project] table.
"""
from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

try:
    import tomllib
except ImportError:   # Python < 3.11: the few keys read below by hand
    tomllib = None

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "resweep"
TAG = "py3-none-any"


def _project() -> Dict[str, str]:
    text = (ROOT / "pyproject.toml").read_text()
    if tomllib:
        return tomllib.loads(text)["project"]
    out: Dict[str, str] = {}
    section = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[project]" and "=" in line:
            key, _, value = line.partition("=")
            value = value.strip()
            if value.startswith('"'):
                out[key.strip()] = value.strip('"')
    return out


def _metadata() -> str:
    p = _project()
    lines = ["Metadata-Version: 2.1", f"Name: {p['name']}",
             f"Version: {p['version']}", f"Summary: {p['description']}",
             f"Requires-Python: {p['requires-python']}"]
    extras = p.get("optional-dependencies") or {}
    for extra, reqs in extras.items() if isinstance(extras, dict) else ():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {r}; extra == "{extra}"' for r in reqs]
    readme = ROOT / "README.md"
    if readme.is_file():
        lines.append("Description-Content-Type: text/markdown")
        return "\n".join(lines) + "\n\n" + readme.read_text()
    return "\n".join(lines) + "\n"


def _dist_info() -> str:
    p = _project()
    return f"{p['name']}-{p['version']}.dist-info"


def _files() -> List[Path]:
    return sorted(f for f in (ROOT / PACKAGE).rglob("*")
                  if f.is_file() and "__pycache__" not in f.parts
                  and f.suffix != ".pyc")


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
    return f"{name},sha256={digest.rstrip(b'=').decode()},{len(data)}"


def _wheel_name() -> str:
    p = _project()
    return f"{p['name']}-{p['version']}-{TAG}.whl"


def _write_wheel(directory: str, entries: Dict[str, bytes]) -> str:
    info = _dist_info()
    entries[f"{info}/METADATA"] = _metadata().encode()
    entries[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: resweep _build/backend.py\n"
        f"Root-Is-Purelib: true\nTag: {TAG}\n").encode()
    record = [_record_line(n, d) for n, d in entries.items()]
    record.append(f"{info}/RECORD,,")
    entries[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = Path(directory) / _wheel_name()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
    return path.name


def get_requires_for_build_wheel(config_settings: Optional[dict] = None
                                 ) -> List[str]:
    return []


get_requires_for_build_sdist = get_requires_for_build_wheel
get_requires_for_build_editable = get_requires_for_build_wheel


def build_wheel(wheel_directory: str, config_settings: Optional[dict] = None,
                metadata_directory: Optional[str] = None) -> str:
    """The wheel of the package's files under resweep/."""
    return _write_wheel(wheel_directory, {
        f.relative_to(ROOT).as_posix(): f.read_bytes() for f in _files()})


def build_editable(wheel_directory: str,
                   config_settings: Optional[dict] = None,
                   metadata_directory: Optional[str] = None) -> str:
    """A wheel whose .pth file puts this source tree on sys.path."""
    return _write_wheel(wheel_directory,
                        {f"{PACKAGE}.pth": f"{ROOT}\n".encode()})


def build_sdist(sdist_directory: str,
                config_settings: Optional[dict] = None) -> str:
    """pyproject.toml, README.md, _build/ and the package, as a tar.gz."""
    p = _project()
    base = f"{p['name']}-{p['version']}"
    files = [ROOT / "pyproject.toml", ROOT / "README.md",
             ROOT / "_build" / "backend.py"] + _files()
    path = Path(sdist_directory) / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for f in files:
            if f.is_file():
                tar.add(f, arcname=f"{base}/{f.relative_to(ROOT).as_posix()}")
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata().encode()
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path.name


if __name__ == "__main__":
    # `python3 _build/backend.py DIR`: the wheel into DIR, its path printed
    # (make install unpacks it into the site directory).
    import sys
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    print(out / build_wheel(str(out)))
