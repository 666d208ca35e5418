"""HTTP details of moving blobs: reading request bodies in bounded chunks, ranges, validators.

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
from collections.abc import Iterator
from typing import Any

import falcon

from artifortress.blobs.store import CHUNK_SIZE, IncompleteBody, PartTooLarge
from artifortress.errors import RangeNotSatisfiable

_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


def declared_length(req: falcon.Request, limit: int, what: str) -> int | None:
    """``Content-Length`` if any; 413 at once when it announces more than *limit*."""
    length = req.content_length
    if length is not None and length > limit:
        raise PartTooLarge(f"the {what} is {length} bytes; the limit is {limit}")
    return length


def body_chunks(req: falcon.Request, limit: int, what: str) -> Iterator[bytes]:
    """The request body in chunks of at most 1 MiB, never more than *limit* bytes in all.

    A body that ends early (the client went away) raises IncompleteBody
    instead of passing for a complete one.  Call :func:`declared_length` first
    so an oversized announcement fails before anything is written.
    """
    length = req.content_length
    stream: Any = req.bounded_stream if length is not None else req.stream
    received = 0
    while length is None or received < length:
        want = CHUNK_SIZE if length is None else min(CHUNK_SIZE, length - received)
        try:
            data = stream.read(want)
        except (OSError, ValueError) as exc:  # connection reset, gunicorn's NoMoreData
            raise _incomplete(received, length) from exc
        if not data:
            if length is not None:
                raise _incomplete(received, length)
            return
        received += len(data)
        if received > limit:
            raise PartTooLarge(f"the {what} exceeds the limit of {limit} bytes")
        yield data


def _incomplete(received: int, length: int | None) -> IncompleteBody:
    expected = f" of {length}" if length is not None else ""
    return IncompleteBody(
        f"the request body ended after {received}{expected} bytes; nothing was stored",
        received=received,
    )


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
