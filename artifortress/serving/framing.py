"""How much of an HTTP/1.1 request has arrived: enough to hand it to a thread, or not yet.

The server's event loop reads each request into memory before a thread sees it
(see :mod:`artifortress.serving.worker`), so a client that sends its headers
or a small body slowly costs a buffer, never a thread.  This module only
looks at the framing: where the header block ends, and whether a body of
``Content-Length`` or chunked framing is complete.  Anything it does not
understand is handed on as :attr:`Readiness.READY`; gunicorn's parser then
answers it (a 400), and the thread's socket deadlines bound how long that
takes.

The loop asks again after every read, so :class:`RequestFraming` remembers
what it has learnt (how far it searched for the end of the header block, the
framing fields, the next chunk) and looks at each byte about once: a client
sending one byte at a time must not make the loop re-read everything it sent.
"""

from __future__ import annotations

import enum
import re

#: A header block whose lines after the request line are all ``name:value``.
_WELL_FORMED = re.compile(rb"[^\n]*(?:\n[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\n]*)*")
#: The fields that frame the body, found in the lower-cased block; values without blanks.
_FRAMING_FIELD = re.compile(
    rb"\n(content-length|transfer-encoding|expect):[ \t]*([^\r\n]*?)[ \t]*(?=\r?\n|\r?$)"
)
_HEX = re.compile(rb"[0-9A-Fa-f]+")
#: More significant digits than this make a length or chunk size too large to buffer;
#: gunicorn accepts any number of leading zeros, so they do not count.
_MAX_DIGITS = 15
#: What such a value counts as: more than any buffer holds.
_TOO_LARGE: int = 16**_MAX_DIGITS
#: The first byte of a TLS handshake record; no HTTP request line starts with it.
_TLS_HANDSHAKE_RECORD = b"\x16"
#: A chunk-size or trailer line is looked for within this many bytes.
_MAX_LINE = 4096


class Readiness(enum.Enum):
    #: More bytes are needed before a thread can serve the request.
    NEED_MORE = "need more"
    #: The whole request is buffered (or is malformed: the parser will say so).
    READY = "ready"
    #: The headers are complete but the body is too large to buffer: stream it.
    STREAM = "stream"
    #: The header block exceeds the limit (answer 431 and close).
    HEADERS_TOO_LARGE = "headers too large"
    #: A TLS handshake, not HTTP: answer 400 and close at once. Registry clients told
    #: not to verify TLS (skopeo, podman, buildah ``--tls-verify=false``) try TLS first
    #: and fall back to plain HTTP only when that fails; waiting for a header block
    #: that never comes held each of them for the whole header timeout.
    TLS_HANDSHAKE = "tls handshake"


def readiness(data: bytes | bytearray, max_header: int, max_buffered_body: int) -> Readiness:
    """Whether *data*, the start of a connection's next request, can go to a thread."""
    return RequestFraming(max_header, max_buffered_body).readiness(data)


class RequestFraming:
    """The readiness of one request whose bytes arrive a read at a time.

    :meth:`readiness` is called with all the bytes read so far, which only
    ever grow; each call examines the new bytes, not the whole request again.
    """

    def __init__(self, max_header: int, max_buffered_body: int) -> None:
        self._max_header = max_header
        self._max_body = max_buffered_body
        #: The end of the header block is not before this offset.
        self._searched = 0
        #: Where the body starts, once the header block is complete.
        self._body_start = -1
        #: What the header block says of the body: no body to wait for (or
        #: framing the parser refuses), a length, or chunks.
        self._nothing_to_wait_for = False
        self._length = 0
        self._waits_for_continue = False
        self._chunked = False
        #: Chunked: where the next chunk-size (or trailer) line starts.
        self._next_line = 0
        self._in_trailers = False

    def readiness(self, data: bytes | bytearray) -> Readiness:
        if self._body_start < 0 and data[:1] == _TLS_HANDSHAKE_RECORD:
            return Readiness.TLS_HANDSHAKE
        if self._body_start < 0:
            head_end, body_start = self._find_head_end(data)
            if head_end < 0:
                too_large = len(data) > self._max_header
                return Readiness.HEADERS_TOO_LARGE if too_large else Readiness.NEED_MORE
            if head_end > self._max_header:
                return Readiness.HEADERS_TOO_LARGE
            self._body_start = body_start
            self._read_framing(bytes(data[:head_end]))
        if self._nothing_to_wait_for:
            return Readiness.READY
        if self._chunked:
            return self._chunked_readiness(data)
        return self._length_readiness(len(data) - self._body_start)

    def _find_head_end(self, data: bytes | bytearray) -> tuple[int, int]:
        """(end of the header block, start of the body), or (-1, -1) while incomplete.

        One empty line before the request line is allowed (RFC 9112 section 2.2),
        as gunicorn allows it, so it is not taken for the end of the headers.
        """
        start = 2 if data.startswith(b"\r\n") else 0
        searched = max(start, self._searched)
        crlf = data.find(b"\r\n\r\n", searched)
        bare = data.find(b"\n\n", searched)
        if crlf < 0 and bare < 0:
            self._searched = max(start, len(data) - 3)  # a terminator may span the next read
            return -1, -1
        if bare >= 0 and (crlf < 0 or bare < crlf):
            return bare, bare + 2
        return crlf, crlf + 4

    def _read_framing(self, head: bytes) -> None:
        fields = _framing_fields(head)
        if fields is None:
            self._nothing_to_wait_for = True
            return
        lengths = fields.get(b"content-length", [])
        codings = fields.get(b"transfer-encoding", [])
        if codings:
            # Ambiguous framing, or a coding gunicorn refuses: the parser answers it.
            chunked_last = b",".join(codings).rstrip().endswith(b"chunked")
            self._nothing_to_wait_for = bool(lengths) or not chunked_last
            self._chunked = True
            self._next_line = self._body_start
            return
        length = _number(lengths[0], 10) if len(lengths) == 1 else None
        if length is None:  # no body, or a malformed length the parser refuses
            self._nothing_to_wait_for = True
            return
        self._length = length
        # A client asking "100-continue" waits for the interim answer before it sends
        # the body; only a thread (gunicorn) sends that answer.
        self._waits_for_continue = b"100-continue" in fields.get(b"expect", [])

    def _length_readiness(self, received: int) -> Readiness:
        if received >= self._length:
            return Readiness.READY
        if self._length > self._max_body or self._waits_for_continue:
            return Readiness.STREAM
        return Readiness.NEED_MORE

    def _chunked_readiness(self, data: bytes | bytearray) -> Readiness:
        """Walks the chunk sizes (then trailers) that arrived since the last call."""
        while True:
            line_end = data.find(b"\r\n", self._next_line, self._next_line + _MAX_LINE)
            if line_end < 0:
                break
            line = bytes(data[self._next_line : line_end])
            self._next_line = line_end + 2
            if self._in_trailers:
                if not line:
                    return Readiness.READY
                continue
            size = _number(line.split(b";", 1)[0].strip(), 16)
            if size is None:
                return Readiness.READY  # malformed: the parser answers 400
            if size == 0:
                self._in_trailers = True
                continue
            self._next_line += size + 2
            if self._next_line - self._body_start > self._max_body:
                return Readiness.STREAM
            if self._next_line > len(data):
                break
        buffered = len(data) - self._body_start
        return Readiness.STREAM if buffered > self._max_body else Readiness.NEED_MORE


def _framing_fields(head: bytes) -> dict[bytes, list[bytes]] | None:
    """The body's framing fields by lower-case name, or None when the header block does not parse.

    Most requests have no body: those are told apart without parsing a line.
    Both regular expressions run over the whole block at once, so a block of
    thousands of tiny fields costs about what one of its size does.
    """
    lower = head.lower()
    if b"\ncontent-length" not in lower and b"\ntransfer-encoding" not in lower:
        return {}
    if _WELL_FORMED.fullmatch(head) is None:
        return None
    fields: dict[bytes, list[bytes]] = {}
    for name, value in _FRAMING_FIELD.findall(lower):
        fields.setdefault(name, []).append(value)
    return fields


def _number(text: bytes, base: int) -> int | None:
    """A Content-Length (base 10) or chunk size (16); None when it is not one.

    A value with more significant digits than any buffer holds is returned
    as one just too large for any, whatever its leading zeros.
    """
    valid = text.isdigit() if base == 10 else _HEX.fullmatch(text) is not None
    if not valid:
        return None
    significant = text.lstrip(b"0")
    if len(significant) > _MAX_DIGITS:
        return _TOO_LARGE
    return int(significant or b"0", base)
