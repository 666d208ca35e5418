"""Generic paths: ``{package}/{version}/{file...}``, and what is refused before any write."""

from __future__ import annotations

import dataclasses
import re

from artifortress.plugin import BadRequest, clean_name

MAX_SEGMENT = 255
MAX_PATH = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")


@dataclasses.dataclass(frozen=True)
class GenericPath:
    """Where a file lives in the core model: package, version and file name (may nest)."""

    package: str
    version: str
    filename: str


def split(raw: str) -> list[str]:
    """The path's segments in NFC, after refusing everything hostile or ambiguous.

    The server already decoded one level of percent-encoding; a ``%XX`` left in
    the path is double encoding (``%252e%252e`` for ``..``) and is refused too,
    as are invisible characters, invalid UTF-8 and look-alikes of ``.`` and
    ``/`` (the core's rule for every stored name).  NFC makes the composed and
    decomposed spellings of ``é`` one path, as macOS and Linux clients send both.
    """
    if len(raw) > MAX_PATH:
        raise BadRequest(f"the path is longer than {MAX_PATH} characters")
    if raw.startswith("/") or "\\" in raw or _CONTROL.search(raw):
        raise BadRequest("absolute paths, backslashes and control characters are not allowed")
    if _PERCENT.search(raw):
        raise BadRequest("percent-encoded characters left after decoding (double encoding)")
    segments = clean_name(raw, "path").split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise BadRequest("empty, '.' and '..' path segments are not allowed")
        if len(segment) > MAX_SEGMENT:
            raise BadRequest(f"a path segment is longer than {MAX_SEGMENT} characters")
    return segments


def file_path(raw: str) -> GenericPath:
    """Map ``package/version/file...``; a path of fewer than three segments is a 400."""
    segments = split(raw)
    if len(segments) < 3:
        raise BadRequest(
            "generic paths are {package}/{version}/{file}: e.g. /generic/REPO/tool/1.2.0/tool.tgz"
        )
    package, version, *rest = segments
    return GenericPath(package, version, "/".join(rest))
