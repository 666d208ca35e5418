"""HTTP details of serving blobs: single byte ranges and validators (ETag, Last-Modified).

Ranges and conditional requests follow RFC 9110: one ``bytes`` range is
served as 206, several are answered with the whole body (200), a range
that cannot be satisfied is 416; ``If-None-Match`` (weak comparison) gives
304 and ``If-Range`` (strong comparison, or the exact ``Last-Modified``)
decides whether ``Range`` applies at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import re

from artifortress.errors import RangeNotSatisfiable

_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


@dataclasses.dataclass(frozen=True)
class ByteRange:
    start: int
    #: Inclusive, as in ``Content-Range``.
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single range asked for, ``None`` for the whole body; 416 if unsatisfiable.

    A malformed header or several ranges are answered with the whole body,
    which RFC 9110 allows.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    match = _RANGE.match(spec)
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # suffix: the last N bytes
        count = int(last)
        if count == 0 or size == 0:
            raise _unsatisfiable(size)
        return ByteRange(max(0, size - count), size - 1)
    start = int(first)
    if start >= size:
        raise _unsatisfiable(size)
    end = size - 1 if last == "" else int(last)
    if end < start:
        return None  # invalid syntax: ignore the header
    return ByteRange(start, min(end, size - 1))


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    error = RangeNotSatisfiable(f"the range lies outside the blob's {size} bytes", size=size)
    error.headers["Content-Range"] = f"bytes */{size}"
    return error


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def none_match(header: str | None, etag: str) -> bool:
    """``If-None-Match`` matches (weak comparison): the client's copy is current."""
    if not header:
        return False
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in _tags(header))


def range_applies(header: str | None, etag: str, last_modified: dt.datetime) -> bool:
    """``If-Range`` allows the range: absent, the same strong ETag, or the exact date."""
    if not header:
        return True
    header = header.strip()
    if header.startswith(('"', "W/")):
        return header == etag
    try:
        date = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    return date == last_modified.replace(microsecond=0)
