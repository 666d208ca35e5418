"""Builders of tiny wheels and sdists for the PyPI plugin's tests."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path


def metadata_text(name: str = "Foo.Bar_baz", version: str = "1.0", **extra: str) -> str:
    """A core metadata document with a name, a version and any extra headers."""
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"{key.replace('_', '-')}: {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n\nThe long description.\n"


def make_wheel(
    directory: Path,
    filename: str = "foo_bar_baz-1.0-py3-none-any.whl",
    metadata: bytes | None = None,
    *,
    dist_info: str = "foo_bar_baz-1.0.dist-info",
    extra_members: dict[str, bytes] | None = None,
) -> Path:
    """Write a wheel with a METADATA file (and anything else asked for); return its path."""
    path = directory / filename
    body = metadata if metadata is not None else metadata_text().encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("foo_bar_baz/__init__.py", b"")
        archive.writestr(f"{dist_info}/METADATA", body)
        archive.writestr(f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\n")
        for name, data in (extra_members or {}).items():
            archive.writestr(name, data)
    return path


def make_sdist(
    directory: Path,
    filename: str = "foo_bar_baz-1.0.tar.gz",
    metadata: bytes | None = None,
    *,
    top: str = "foo_bar_baz-1.0",
    extra_members: dict[str, bytes] | None = None,
) -> Path:
    """Write a .tar.gz (or .zip, by the filename) sdist with ``{top}/PKG-INFO``."""
    body = metadata if metadata is not None else metadata_text().encode()
    members = {f"{top}/PKG-INFO": body, f"{top}/setup.py": b"", **(extra_members or {})}
    path = directory / filename
    if filename.endswith(".zip"):
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        return path
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path
