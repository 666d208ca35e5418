"""A streaming multipart/form-data parser for uploads (RFC 7578), with bounded memory.

Small fields are collected in memory under a total bound; the one file field is passed chunk
by chunk to a caller's sink as it arrives, so memory stays near ``chunk_size`` plus the field
bound whatever the file's size. Boundaries split across reads, a missing closing boundary
(client disconnect) and a second file are all detected. The body's own bounds (its size,
its ``Content-Length``) are the reader's: the core's request body in production.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Final, Protocol

from .errors import PayloadTooLarge, PypiError
from .headers import parse_content_disposition, parse_content_type

MiB: Final = 1024 * 1024
MAX_HEADER_BLOCK: Final = 16 * 1024
MAX_PARTS: Final = 1000
# twine sends a detached signature as a second file part; it is small, so keep it as a field.
SMALL_FILE_FIELDS: Final = frozenset({"gpg_signature"})

Sink = Callable[[bytes], object] | IO[bytes]


class Readable(Protocol):
    """The body as the parser reads it: an empty result means its end."""

    def read(self, size: int, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on one request: all small fields together, and the read size."""

    max_fields: int = 1 * MiB
    chunk_size: int = 256 * 1024


@dataclass(slots=True)
class MultipartResult:
    """The parsed form: small fields (repeated names become lists) and the file part's facts."""

    fields: dict[str, str | list[str]] = field(default_factory=dict)
    filename: str | None = None
    file_size: int = 0
    file_content_type: str | None = None


def parse_form(
    body: Readable,
    content_type: str | None,
    sink: Sink,
    *,
    file_field: str = "content",
    limits: Limits = Limits(),
) -> MultipartResult:
    """Parse a multipart/form-data body, streaming the ``file_field`` part into ``sink``.

    *body* is read to its end. Raises PayloadTooLarge (413) past ``limits`` and
    PypiError (400) for a malformed or truncated body, a missing boundary, a missing
    file or a second file part.
    """
    parser = _Parser(_boundary(content_type), _writer(sink), file_field, limits)
    for chunk in iter(lambda: body.read(limits.chunk_size), b""):
        parser.feed(chunk)
    return parser.finish()


def _boundary(content_type: str | None) -> bytes:
    """Return the boundary of a multipart/form-data Content-Type, or refuse the request."""
    media_type, params = parse_content_type(content_type or "")
    if media_type != "multipart/form-data":
        raise PypiError("Invalid upload: the Content-Type must be multipart/form-data.")
    boundary = params.get("boundary", "")
    if not boundary:
        raise PypiError("Invalid upload: the multipart/form-data Content-Type has no boundary.")
    if len(boundary) > 200 or not boundary.isascii():
        raise PypiError("Invalid upload: the multipart boundary is malformed.")
    return boundary.encode("ascii")


def _writer(sink: Sink) -> Callable[[bytes], object]:
    """Accept a writable file object or a plain callable as the sink."""
    write = getattr(sink, "write", None)
    if callable(write):
        return write  # type: ignore[no-any-return]
    if callable(sink):
        return sink
    raise TypeError("sink must be callable or have a write() method")


class _Parser:
    """The multipart state machine; ``feed`` it bytes, then ``finish``."""

    def __init__(
        self, boundary: bytes, write: Callable[[bytes], object], file_field: str, limits: Limits
    ) -> None:
        self._delimiter = b"\r\n--" + boundary
        # A leading CRLF lets the first delimiter match like all others (no preamble case).
        self._buffer = bytearray(b"\r\n")
        self._state = self._in_preamble
        self._write = write
        self._file_field = file_field
        self._limits = limits
        self._result = MultipartResult()
        self._field_bytes = 0
        self._parts = 0
        self._part_name = ""
        self._part_is_file = False
        self._part_value = bytearray()
        self._done = False

    def feed(self, data: bytes) -> None:
        """Consume one chunk of body."""
        self._buffer += data
        while self._state():
            pass

    def finish(self) -> MultipartResult:
        """Return the result once the body ended, refusing a body without its closing boundary."""
        if not self._done:
            raise PypiError(
                "Upload truncated: the request body ended before the closing multipart "
                "boundary (client disconnected?)."
            )
        if self._result.filename is None:
            raise PypiError("Upload payload does not have a file.")
        return self._result

    # Each state consumes what it can and returns True when another state should run now.

    def _in_preamble(self) -> bool:
        """Skip anything before the first delimiter."""
        index = self._buffer.find(self._delimiter)
        if index < 0:
            del self._buffer[: max(0, len(self._buffer) - len(self._delimiter) + 1)]
            return False
        del self._buffer[: index + len(self._delimiter)]
        self._state = self._after_delimiter
        return True

    def _after_delimiter(self) -> bool:
        """After a delimiter comes ``--`` (the end) or optional blanks and CRLF (a new part)."""
        if len(self._buffer) < 2:
            return False
        if self._buffer.startswith(b"--"):
            self._done = True
            self._buffer.clear()
            self._state = self._in_epilogue
            return False
        line_end = self._buffer.find(b"\r\n")
        if line_end < 0:
            if len(self._buffer) > 1024:
                raise _malformed("garbage after a boundary")
            return False
        if self._buffer[:line_end].strip(b" \t"):
            raise _malformed("garbage after a boundary")
        del self._buffer[: line_end + 2]
        self._state = self._in_headers
        return True

    def _in_headers(self) -> bool:
        """Collect a part's header block (up to the blank line) and start the part."""
        if self._buffer.startswith(b"\r\n"):
            end, skip = 0, 2
        else:
            end, skip = self._buffer.find(b"\r\n\r\n"), 4
            if end < 0:
                if len(self._buffer) > MAX_HEADER_BLOCK:
                    raise _malformed("part headers too long")
                return False
        block = bytes(self._buffer[:end])
        del self._buffer[: end + skip]
        self._start_part(block)
        self._state = self._in_body
        return True

    def _in_body(self) -> bool:
        """Pass body bytes on, keeping back a tail that might begin the next delimiter."""
        index = self._buffer.find(self._delimiter)
        if index < 0:
            safe = len(self._buffer) - len(self._delimiter) + 1
            if safe > 0:
                self._part_data(bytes(self._buffer[:safe]))
                del self._buffer[:safe]
            return False
        self._part_data(bytes(self._buffer[:index]))
        del self._buffer[: index + len(self._delimiter)]
        self._end_part()
        self._state = self._after_delimiter
        return True

    def _in_epilogue(self) -> bool:
        """Ignore anything after the closing delimiter."""
        self._buffer.clear()
        return False

    def _start_part(self, block: bytes) -> None:
        """Read a part's Content-Disposition and decide whether it streams or stays in memory."""
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise PayloadTooLarge(f"Too many form fields (more than {MAX_PARTS}).")
        headers = _parse_header_block(block)
        disposition, params = parse_content_disposition(headers.get("content-disposition", ""))
        name = params.get("name")
        if disposition != "form-data" or not name:
            raise _malformed("a part lacks a Content-Disposition form-data name")
        filename = params.get("filename")
        self._part_name = name
        self._part_is_file = filename is not None and name not in SMALL_FILE_FIELDS
        if self._part_is_file:
            self._start_file(name, filename or "", headers.get("content-type"))
        else:
            self._count_field_bytes(len(name))

    def _start_file(self, name: str, filename: str, content_type: str | None) -> None:
        """Accept the one file part (``file_field``); refuse any other or a second one."""
        if name != self._file_field:
            raise PypiError(f"Invalid upload: unexpected file field {name!r}.")
        if self._result.filename is not None:
            raise PypiError("Invalid upload: more than one file in the request.")
        if not filename:
            raise PypiError("Upload payload does not have a file.")
        self._result.filename = filename
        self._result.file_content_type = content_type

    def _part_data(self, data: bytes) -> None:
        """Route body bytes to the sink (file) or the in-memory value (field)."""
        if not data:
            return
        if self._part_is_file:
            self._result.file_size += len(data)
            self._write(data)
            return
        self._count_field_bytes(len(data))
        self._part_value += data

    def _count_field_bytes(self, size: int) -> None:
        """Bound the memory held by small fields (names and values together)."""
        self._field_bytes += size
        if self._field_bytes > self._limits.max_fields:
            raise PayloadTooLarge(
                f"Form fields too large (more than {self._limits.max_fields // 1024} KiB)."
            )

    def _end_part(self) -> None:
        """Store a finished small field; a repeated name accumulates into a list."""
        if self._part_is_file:
            return
        try:
            value = self._part_value.decode("utf-8")
        except UnicodeDecodeError:
            raise PypiError(f"Form field {self._part_name!r} is not valid UTF-8.") from None
        self._part_value = bytearray()
        fields = self._result.fields
        previous = fields.get(self._part_name)
        if previous is None:
            fields[self._part_name] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            fields[self._part_name] = [previous, value]


def _parse_header_block(block: bytes) -> dict[str, str]:
    """Parse ``Name: value`` lines (names lower-cased; the first of a repeated name wins)."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed("part headers are not UTF-8") from None
    headers: dict[str, str] = {}
    for line in text.split("\r\n") if text else []:
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise _malformed("bad part header line")
        headers.setdefault(name.strip().lower(), value.strip())
    return headers


def _malformed(reason: str) -> PypiError:
    """The 400 error for a body that is not valid multipart/form-data."""
    return PypiError(f"Invalid upload: malformed multipart body ({reason}).")
