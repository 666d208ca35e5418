"""Streaming parser for the body of an npm publish (``PUT /{name}``).

The body is one JSON document whose ``_attachments["<name>-<version>.tgz"].data`` holds the
tarball in base64, about 1.34 times its size. Neither that string nor the decoded tarball
is held in memory: the base64 is decoded piece by piece into a writable object the caller
provides per attachment (a temporary file, a blob upload), while the sha1 and sha512 of the
decoded bytes are computed on the way. The ``.sigstore`` provenance attachment of
``npm publish --provenance`` carries its bundle as plain JSON text, not base64; its UTF-8
bytes are written as they are. The rest of the document is returned as a dict in which
each attachment's ``data`` is replaced by the number of bytes written.

If parsing fails after a sink was opened, whatever it received must be discarded.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from artifortress_npm.errors import NpmError
from artifortress_npm.jsonstream import Path, Readable, StreamingJsonParser, StringSink

DEFAULT_MAX_DOCUMENT_SIZE = 16 * 1024 * 1024
DEFAULT_CHUNK_SIZE = 256 * 1024
MAX_ATTACHMENTS = 2
MAX_ATTACHMENT_NAME = 512
TARBALL_SUFFIX = ".tgz"
PROVENANCE_SUFFIX = ".sigstore"


class Writable(Protocol):
    """Where one attachment's decoded bytes go."""

    def write(self, data: bytes, /) -> object: ...


AttachmentSink = Callable[[str], Writable]


@dataclass(frozen=True)
class Attachment:
    """What was decoded of one attachment, with digests of the decoded bytes."""

    name: str
    size: int
    sha1: str
    integrity: str
    content_type: str | None
    declared_length: int | None


@dataclass(frozen=True)
class PublishBody:
    """The parsed publish document (attachment data replaced by sizes) and its attachments."""

    document: dict[str, Any]
    attachments: dict[str, Attachment]
    body_size: int


class _Decoder:
    """Hash and write the decoded bytes of one attachment."""

    def __init__(self, name: str, out: Writable) -> None:
        self.name = name
        self.size = 0
        self._out = out
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._sha512 = hashlib.sha512()

    def feed(self, data: bytes) -> None:
        """Take the next piece of the JSON string's content."""
        raise NotImplementedError

    def close(self) -> int:
        """Check the end of the data and return the number of decoded bytes."""
        raise NotImplementedError

    def _emit(self, data: bytes) -> None:
        self.size += len(data)
        self._sha1.update(data)
        self._sha512.update(data)
        self._out.write(data)

    def _bad(self, why: str) -> NpmError:
        return NpmError(f"attachment {self.name!r}: {why}")

    @property
    def length_units(self) -> int:
        """The length as the client counts it for ``length`` (bytes for base64)."""
        return self.size

    def digests(self) -> tuple[str, str]:
        """Return ``(sha1 hex, "sha512-<base64>")`` of the decoded bytes."""
        integrity = "sha512-" + base64.b64encode(self._sha512.digest()).decode()
        return self._sha1.hexdigest(), integrity


class _Base64Decoder(_Decoder):
    """Strict streaming base64: whole quads only, padding only at the very end.

    Line breaks (JSON ``\\n``/``\\r`` escapes of MIME-style base64) are ignored.
    """

    def __init__(self, name: str, out: Writable) -> None:
        super().__init__(name, out)
        self._carry = b""
        self._padded = False

    def feed(self, data: bytes) -> None:
        data = data.translate(None, b"\r\n")
        if not data:
            return
        if self._padded:
            raise self._bad("invalid base64: data after padding")
        if self._carry:
            data = self._carry + data
        cut = len(data) - len(data) % 4
        self._carry = data[cut:]
        if cut:
            quads = data[:cut] if cut < len(data) else data
            try:
                decoded = binascii.a2b_base64(quads, strict_mode=True)
            except binascii.Error as exc:
                raise self._bad(f"invalid base64: {exc}") from None
            self._padded = quads.endswith(b"=")
            self._emit(decoded)

    def close(self) -> int:
        if self._carry:
            raise self._bad("invalid base64: length is not a multiple of 4")
        return self.size


class _TextDecoder(_Decoder):
    """Plain JSON text (the provenance bundle): validated as UTF-8, written as is."""

    def __init__(self, name: str, out: Writable) -> None:
        super().__init__(name, out)
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._units = 0

    def feed(self, data: bytes) -> None:
        try:
            text = self._utf8.decode(data)
        except UnicodeDecodeError:
            raise self._bad("invalid UTF-8") from None
        # JavaScript's String.length counts UTF-16 code units; libnpmpublish sends that.
        self._units += len(text.encode("utf-16-le")) // 2
        self._emit(data)

    def close(self) -> int:
        try:
            self._utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            raise self._bad("invalid UTF-8") from None
        return self.size

    @property
    def length_units(self) -> int:
        return self._units


def parse_publish_body(
    stream: Readable,
    sink: AttachmentSink,
    *,
    content_length: int | None = None,
    max_body_size: int | None = None,
    max_document_size: int = DEFAULT_MAX_DOCUMENT_SIZE,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> PublishBody:
    """Parse a publish body from ``stream``, streaming attachment data into ``sink(name)``.

    ``content_length`` is the body's length if the stream does not end there (None: the
    stream ends with the body, as the core's request body does); a body over
    ``max_body_size`` (if given: the core's reader bounds it) is refused with 413 before or
    while reading, and so is a document whose non-attachment part exceeds
    ``max_document_size``. Malformed JSON,
    bad base64, a ``length`` that disagrees with the data and a truncated body are 400s.
    """
    decoders: dict[str, _Decoder] = {}

    def hook(path: Path) -> StringSink | None:
        if len(path) != 3 or path[0] != "_attachments" or path[2] != "data":
            return None
        name = path[1]
        if not isinstance(name, str):
            return None  # "_attachments" is not an object; refused below
        _check_attachment_name(name, len(decoders))
        decoder: _Decoder
        if name.endswith(PROVENANCE_SUFFIX):
            decoder = _TextDecoder(name, sink(name))
        else:
            decoder = _Base64Decoder(name, sink(name))
        decoders[name] = decoder
        return decoder

    parser = StreamingJsonParser(
        stream,
        hook=hook,
        content_length=content_length,
        max_body_size=max_body_size,
        max_document_size=max_document_size,
        chunk_size=chunk_size,
    )
    document = parser.parse()
    if not isinstance(document, dict):
        raise NpmError("publish body must be a JSON object")
    attachments = _collect_attachments(document, decoders)
    return PublishBody(document=document, attachments=attachments, body_size=parser.body_size)


def _check_attachment_name(name: str, seen: int) -> None:
    if seen >= MAX_ATTACHMENTS:
        raise NpmError(f"too many attachments: at most {MAX_ATTACHMENTS} are accepted")
    suffix_ok = name.endswith((TARBALL_SUFFIX, PROVENANCE_SUFFIX))
    if not suffix_ok or len(name) > MAX_ATTACHMENT_NAME or not name.isprintable():
        raise NpmError(f"unexpected attachment {name[:100]!r}: expected <name>-<version>.tgz")


def _collect_attachments(
    document: dict[str, Any], decoders: dict[str, _Decoder]
) -> dict[str, Attachment]:
    raw = document.get("_attachments", {})
    if not isinstance(raw, dict):
        raise NpmError("_attachments must be an object")
    result: dict[str, Attachment] = {}
    for name, entry in raw.items():
        decoder = decoders.get(name)
        if not isinstance(entry, dict) or decoder is None or entry.get("data") != decoder.size:
            raise NpmError(f"attachment {name!r} has no data string")
        length = entry.get("length")
        if length is not None:
            if not isinstance(length, int) or isinstance(length, bool):
                raise NpmError(f"attachment {name!r}: length must be an integer")
            if length != decoder.length_units:
                raise NpmError(
                    f"attachment {name!r}: length says {length} but the data has "
                    f"{decoder.length_units}"
                )
        content_type = entry.get("content_type")
        sha1, integrity = decoder.digests()
        result[name] = Attachment(
            name=name,
            size=decoder.size,
            sha1=sha1,
            integrity=integrity,
            content_type=content_type if isinstance(content_type, str) else None,
            declared_length=length,
        )
    return result
