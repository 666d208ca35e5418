"""An incremental JSON parser over a byte stream that can stream chosen string values.

Everything is parsed into ordinary Python values except the string values a hook picks
(by their path in the document): those are handed over piece by piece, as UTF-8 bytes
with escapes resolved, to a :class:`StringSink`, and whatever the sink's ``close()``
returns takes their place. Memory stays bounded by the chunk size plus the parsed
document, which is itself bounded. Chunk boundaries may fall anywhere, escapes included.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, NoReturn, Protocol

from artifortress_npm.errors import NpmError

Path = tuple[str | int, ...]

_SPECIAL = re.compile(rb'["\\\x00-\x1f]')
_NON_WS = re.compile(rb"[^ \t\r\n]")
_LITERAL = re.compile(rb"[-+0-9.eEa-z]*")
# JSON's two-character escapes: the byte after the backslash -> what it stands for.
_SIMPLE_ESCAPES = {ord(k): v.encode() for k, v in zip('"\\/bfnrt', '"\\/\b\f\n\r\t', strict=True)}
_HEX = re.compile(rb"[0-9a-fA-F]{4}")
_MAX_LITERAL = 512


class Readable(Protocol):
    """The part of a binary stream (e.g. ``wsgi.input``) the parser uses."""

    def read(self, size: int, /) -> bytes: ...


class StringSink(Protocol):
    """Receives one streamed string value."""

    def feed(self, data: bytes, /) -> None:
        """Take the next piece of the string, as UTF-8 bytes."""

    def close(self) -> object:
        """End the string; the result replaces the string in the parsed document."""


StreamHook = Callable[[Path], StringSink | None]


def _reject_constant(name: str) -> None:
    raise ValueError(name)


class StreamingJsonParser:
    """Parse one JSON document from ``stream`` with bounds on body and document size."""

    def __init__(
        self,
        stream: Readable,
        *,
        hook: StreamHook,
        content_length: int | None,
        max_body_size: int | None,
        max_document_size: int,
        chunk_size: int = 256 * 1024,
        max_depth: int = 64,
    ) -> None:
        if max_body_size is not None and (content_length or 0) > max_body_size:
            raise NpmError(f"request body exceeds the limit of {max_body_size} bytes", 413)
        self._stream = stream
        self._hook = hook
        self._remaining = content_length
        self._max_body = max_body_size
        self._max_document = max_document_size
        self._chunk = chunk_size
        self._max_depth = max_depth
        self._buf = b""
        self._pos = 0
        self._read_total = 0
        self._streamed = 0
        self._eof = False

    @property
    def body_size(self) -> int:
        """Bytes read from the stream so far."""
        return self._read_total

    def parse(self) -> Any:
        """Parse the document, check nothing but whitespace follows, and return it."""
        value = self._value((), 0)
        if self._peek(required=False) is not None:
            self._fail("unexpected data after the JSON document")
        if self._remaining:
            self._fail("request body truncated")
        self._check_document_size()
        return value

    # -- input -------------------------------------------------------------------------

    def _fill(self) -> bool:
        """Read another chunk, keeping the unconsumed tail; return False at end of body."""
        if self._eof or self._remaining == 0:
            return False
        size = self._chunk if self._remaining is None else min(self._chunk, self._remaining)
        data = self._stream.read(size)
        if not data:
            self._eof = True
            return False
        self._read_total += len(data)
        if self._remaining is not None:
            self._remaining = max(self._remaining - len(data), 0)
        if self._max_body is not None and self._read_total > self._max_body:
            raise NpmError(f"request body exceeds the limit of {self._max_body} bytes", 413)
        self._buf = self._buf[self._pos :] + data
        self._pos = 0
        self._check_document_size()
        return True

    def _check_document_size(self) -> None:
        if self._offset() - self._streamed > self._max_document:
            raise NpmError(
                f"publish document without attachment data exceeds {self._max_document} bytes",
                413,
            )

    def _more(self) -> None:
        """Read another chunk or fail: the document is not complete yet."""
        if not self._fill():
            self._fail("request body truncated: the JSON document is incomplete")

    def _ensure(self, count: int) -> None:
        """Make ``count`` bytes available from the current position."""
        while len(self._buf) - self._pos < count:
            self._more()

    def _offset(self) -> int:
        return self._read_total - (len(self._buf) - self._pos)

    def _fail(self, message: str) -> NoReturn:
        raise NpmError(f"malformed publish body at byte {self._offset()}: {message}")

    def _peek(self, *, required: bool = True) -> int | None:
        """Skip whitespace and return the next byte without consuming it."""
        while True:
            match = _NON_WS.search(self._buf, self._pos)
            if match is not None:
                self._pos = match.start()
                return self._buf[self._pos]
            self._pos = len(self._buf)
            if not self._fill():
                if required:
                    self._fail("request body truncated: the JSON document is incomplete")
                return None

    def _expect(self, byte: bytes) -> None:
        if self._peek() != byte[0]:
            self._fail(f"expected {byte.decode()!r}")
        self._pos += 1

    # -- values ------------------------------------------------------------------------

    def _value(self, path: Path, depth: int) -> Any:
        char = self._peek()
        if char == ord("{"):
            return self._object(path, depth + 1)
        if char == ord("["):
            return self._array(path, depth + 1)
        if char == ord('"'):
            sink = self._hook(path)
            return self._string() if sink is None else self._stream_string(sink)
        return self._literal()

    def _object(self, path: Path, depth: int) -> dict[str, Any]:
        if depth > self._max_depth:
            self._fail(f"nesting deeper than {self._max_depth} levels")
        self._pos += 1
        result: dict[str, Any] = {}
        if self._peek() == ord("}"):
            self._pos += 1
            return result
        while True:
            if self._peek() != ord('"'):
                self._fail("expected a string key")
            key = self._string()
            if key in result:
                self._fail(f"duplicate key {key!r}")
            self._expect(b":")
            result[key] = self._value((*path, key), depth)
            char = self._peek()
            self._pos += 1
            if char == ord("}"):
                return result
            if char != ord(","):
                self._pos -= 1
                self._fail("expected ',' or '}'")

    def _array(self, path: Path, depth: int) -> list[Any]:
        if depth > self._max_depth:
            self._fail(f"nesting deeper than {self._max_depth} levels")
        self._pos += 1
        result: list[Any] = []
        if self._peek() == ord("]"):
            self._pos += 1
            return result
        while True:
            result.append(self._value((*path, len(result)), depth))
            char = self._peek()
            self._pos += 1
            if char == ord("]"):
                return result
            if char != ord(","):
                self._pos -= 1
                self._fail("expected ',' or ']'")

    def _literal(self) -> Any:
        pieces: list[bytes] = []
        while True:
            match = _LITERAL.match(self._buf, self._pos)
            assert match is not None  # the pattern matches the empty string
            pieces.append(match.group())
            self._pos = match.end()
            if sum(map(len, pieces)) > _MAX_LITERAL:
                self._fail("number or literal too long")
            if self._pos < len(self._buf) or not self._fill():
                break
        token = b"".join(pieces)
        if not token:
            self._fail("unexpected character")
        try:
            value = json.loads(token, parse_constant=_reject_constant)
        except ValueError:
            self._fail(f"invalid value {token[:40].decode()!r}")
        if isinstance(value, float) and not math.isfinite(value):
            self._fail("number out of range")
        return value

    def _string(self) -> str:
        """Parse a string that is kept in the document (bounded by the document size)."""
        self._pos += 1
        pieces: list[bytes] = []
        while True:
            match = _SPECIAL.search(self._buf, self._pos)
            if match is None:
                pieces.append(self._buf[self._pos :])
                self._pos = len(self._buf)
                self._more()
                continue
            index = match.start()
            pieces.append(self._buf[self._pos : index])
            self._pos = index
            char = self._buf[index]
            if char == ord('"'):
                self._pos += 1
                return self._decode_string(b"".join(pieces))
            if char != ord("\\"):
                self._fail("control character in a string")
            self._ensure(2)  # keep the escape raw; json.loads resolves it below
            pieces.append(self._buf[self._pos : self._pos + 2])
            self._pos += 2

    def _decode_string(self, raw: bytes) -> str:
        try:
            text: str = json.loads(b'"' + raw + b'"')
            if b"\\u" in raw:
                text.encode("utf-8")  # refuses lone surrogates such as "\ud800"
        except (ValueError, UnicodeError):
            self._fail("invalid string (bad escape or invalid UTF-8)")
        return text

    def _stream_string(self, sink: StringSink) -> object:
        """Hand a string's content to ``sink`` piece by piece; return ``sink.close()``."""
        self._pos += 1
        while True:
            match = _SPECIAL.search(self._buf, self._pos)
            end = len(self._buf) if match is None else match.start()
            if end > self._pos:
                sink.feed(self._buf[self._pos : end])
                self._streamed += end - self._pos
                self._pos = end
            if match is None:
                self._more()
                continue
            char = self._buf[end]
            if char == ord('"'):
                self._pos += 1
                return sink.close()
            if char != ord("\\"):
                self._fail("control character in a string")
            sink.feed(self._escape())

    def _escape(self) -> bytes:
        """Consume one escape sequence at the current position; return its UTF-8 bytes."""
        self._ensure(2)
        kind = self._buf[self._pos + 1]
        if kind != ord("u"):
            if kind not in _SIMPLE_ESCAPES:
                self._fail("invalid escape in a string")
            self._pos += 2
            self._streamed += 2
            return _SIMPLE_ESCAPES[kind]
        code = self._hex_escape()
        if 0xDC00 <= code <= 0xDFFF:
            self._fail("lone low surrogate escape")
        if 0xD800 <= code <= 0xDBFF:
            low = self._hex_escape() if self._starts_with(b"\\u") else -1
            if not 0xDC00 <= low <= 0xDFFF:
                self._fail("high surrogate escape without its low surrogate")
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        return chr(code).encode("utf-8")

    def _starts_with(self, prefix: bytes) -> bool:
        while len(self._buf) - self._pos < len(prefix):
            if not self._fill():
                return False
        return self._buf.startswith(prefix, self._pos)

    def _hex_escape(self) -> int:
        """Consume ``\\uXXXX`` and return the code unit."""
        self._ensure(6)
        digits = self._buf[self._pos + 2 : self._pos + 6]
        if _HEX.fullmatch(digits) is None:
            self._fail("invalid \\u escape")
        self._pos += 6
        self._streamed += 6
        return int(digits, 16)
