"""How much of an HTTP/1.1 request has arrived: enough to hand it to a thread, or not yet.

The server's event loop reads each request into memory before a thread sees it
(see :mod:`artifortress.serving.worker`), so a client that sends its headers
or a small body slowly costs a buffer, never a thread.  This module only
looks at the framing: where the header block ends, and whether a body of
``Content-Length`` or chunked framing is complete.  Anything it does not
understand is handed on as :attr:`Readiness.READY`; gunicorn's parser then
answers it (a 400), and the thread's socket deadlines bound how long that
takes.
"""

from __future__ import annotations

import enum
import re

#: Header names are compared in lower case; values are stripped of blanks.
_FIELD = re.compile(rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$")
_HEX = re.compile(rb"^[0-9A-Fa-f]{1,16}$")


class Readiness(enum.Enum):
    #: More bytes are needed before a thread can serve the request.
    NEED_MORE = "need more"
    #: The whole request is buffered (or is malformed: the parser will say so).
    READY = "ready"
    #: The headers are complete but the body is too large to buffer: stream it.
    STREAM = "stream"
    #: The header block exceeds the limit (answer 431 and close).
    HEADERS_TOO_LARGE = "headers too large"


def readiness(data: bytes | bytearray, max_header: int, max_buffered_body: int) -> Readiness:
    """Whether *data*, the start of a connection's next request, can go to a thread."""
    head_end, body_start = _header_block(data)
    if head_end < 0:
        return Readiness.HEADERS_TOO_LARGE if len(data) > max_header else Readiness.NEED_MORE
    if head_end > max_header:
        return Readiness.HEADERS_TOO_LARGE
    fields = _fields(bytes(data[:head_end]))
    if fields is None:
        return Readiness.READY
    body = memoryview(data)[body_start:]
    return _body_readiness(fields, body, max_buffered_body)


def _header_block(data: bytes | bytearray) -> tuple[int, int]:
    """(end of the header block, start of the body), or (-1, -1) while incomplete.

    Empty lines before the request line are allowed (RFC 9112 section 2.2), so
    they are skipped rather than taken for the end of the headers.
    """
    start = 0
    while data.startswith(b"\r\n", start):
        start += 2
    crlf = data.find(b"\r\n\r\n", start)
    bare = data.find(b"\n\n", start)
    if crlf < 0 and bare < 0:
        return -1, -1
    if bare >= 0 and (crlf < 0 or bare < crlf):
        return bare, bare + 2
    return crlf, crlf + 4


def _fields(head: bytes) -> dict[bytes, list[bytes]] | None:
    """The header fields by lower-case name, or None when they do not parse.

    Most requests have no body: those are told apart without parsing a line.
    """
    lower = head.lower()
    if b"\ncontent-length" not in lower and b"\ntransfer-encoding" not in lower:
        return {}
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    fields: dict[bytes, list[bytes]] = {}
    for line in lines[1:]:
        match = _FIELD.match(line)
        if match is None:
            return None
        fields.setdefault(match.group(1).lower(), []).append(match.group(2))
    return fields


def _body_readiness(
    fields: dict[bytes, list[bytes]], body: memoryview, max_buffered_body: int
) -> Readiness:
    lengths = fields.get(b"content-length", [])
    codings = fields.get(b"transfer-encoding", [])
    if codings:
        if lengths or not b",".join(codings).lower().rstrip().endswith(b"chunked"):
            return Readiness.READY  # ambiguous framing: the parser refuses it
        return _chunked_readiness(body, max_buffered_body)
    if not lengths:
        return Readiness.READY
    if len(lengths) > 1 or not lengths[0].isdigit() or len(lengths[0]) > 18:
        return Readiness.READY
    length = int(lengths[0])
    if len(body) >= length:
        return Readiness.READY
    # A client asking "100-continue" waits for the interim answer before it sends
    # the body; only a thread (gunicorn) sends that answer.
    waits_for_continue = any(v.lower() == b"100-continue" for v in fields.get(b"expect", []))
    if length > max_buffered_body or waits_for_continue:
        return Readiness.STREAM
    return Readiness.NEED_MORE


def _chunked_readiness(body: memoryview, max_buffered_body: int) -> Readiness:
    """Walks the chunk sizes buffered so far: complete, incomplete or too large to buffer."""
    position = 0
    while True:
        line_end = _find_crlf(body, position)
        if line_end < 0:
            break
        size_text = bytes(body[position:line_end]).split(b";", 1)[0].strip()
        if not _HEX.match(size_text):
            return Readiness.READY  # malformed: the parser answers 400
        size = int(size_text, 16)
        position = line_end + 2
        if size == 0:
            return _trailers_readiness(body, position, max_buffered_body)
        position += size + 2
        if position > max_buffered_body:
            return Readiness.STREAM
        if position > len(body):
            break
    return Readiness.STREAM if len(body) > max_buffered_body else Readiness.NEED_MORE


def _trailers_readiness(body: memoryview, position: int, max_buffered_body: int) -> Readiness:
    """After the last chunk: optional trailer fields, then an empty line."""
    while True:
        line_end = _find_crlf(body, position)
        if line_end < 0:
            return Readiness.STREAM if len(body) > max_buffered_body else Readiness.NEED_MORE
        if line_end == position:
            return Readiness.READY
        position = line_end + 2


def _find_crlf(body: memoryview, start: int) -> int:
    """The next CRLF at or after *start* within a line's worth of bytes, or -1."""
    found = bytes(body[start : start + 4096]).find(b"\r\n")
    return -1 if found < 0 else start + found
