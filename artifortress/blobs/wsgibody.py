"""Reading large request bodies: bounded chunks, early 413, and no silent truncation.

Under gunicorn, a body of known length is read straight from the client's
socket in chunks of 1 MiB.  gunicorn's own ``wsgi.input`` copies every
byte through two ``BytesIO`` layers, which caps an upload at a third of what
the socket delivers; the direct path keeps gunicorn's books (the bytes it
already buffered come first, ``LengthReader.length`` is kept current, a
broken body marks the connection as not reusable), so keep-alive and
pipelining work as before.  Anything else (chunked bodies, other servers,
tests) goes through the portable ``wsgi.input`` path, which every request
reads through :class:`ClientInput`.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from typing import Any

import falcon
from gunicorn.http.errors import ParseException

from artifortress.blobs.store import CHUNK_SIZE, IncompleteBody, MalformedBody
from artifortress.errors import PayloadTooLarge


class ClientInput:
    """``wsgi.input`` whose failures are the client's: reading it fails only with a 400.

    Every reader of a body (:class:`~artifortress.blobs.request_body.RequestBody`
    and the blob parts' :func:`body_chunks`) reads through this, installed for each request by the
    request middleware.  A broken chunked encoding (gunicorn's parser errors)
    becomes :class:`MalformedBody`; a connection that fails, or ends before its
    ``Content-Length``, :class:`IncompleteBody`.  So no route answers 500 for
    a client's broken body, and none takes a short body for the whole one.
    """

    def __init__(self, raw: Any, length: int | None) -> None:
        self.raw = raw
        self._length = length
        self._received = 0

    def read(self, size: int | None = -1) -> bytes:
        return self._counted(self._guarded(self.raw.read, size), size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._counted(self._guarded(self.raw.readline, size), size)

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        """Lines until the end, or until they hold at least *hint* bytes (as ``io`` does)."""
        lines: list[bytes] = []
        total = 0
        for line in self:
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def _guarded(self, read: Any, size: int | None) -> bytes:
        try:
            data: bytes = read(size)
        except ParseException as exc:  # gunicorn: InvalidChunkSize, ChunkMissingTerminator...
            raise MalformedBody(
                f"the request body is malformed ({exc}); nothing was stored"
            ) from exc
        except OSError as exc:  # the connection failed or timed out; gunicorn's NoMoreData
            raise _incomplete(self._received, self._length) from exc
        return data

    def _counted(self, data: bytes, size: int | None) -> bytes:
        self._received += len(data)
        ended = not data and size != 0
        if ended and self._length is not None and self._received < self._length:
            raise _incomplete(self._received, self._length)
        return data


def declared_length(
    req: falcon.Request, limit: int, what: str, too_large: type[PayloadTooLarge] = PayloadTooLarge
) -> int | None:
    """``Content-Length`` if any; 413 (*too_large*) at once when it announces more than *limit*."""
    length = req.content_length
    if length is not None and length > limit:
        raise too_large(f"the {what} is {length} bytes; the limit is {limit}")
    return length


def body_chunks(
    req: falcon.Request, limit: int, what: str, too_large: type[PayloadTooLarge] = PayloadTooLarge
) -> Iterator[bytes]:
    """The request body in chunks of at most 1 MiB, never more than *limit* bytes in all.

    A body that ends early (the client went away) raises IncompleteBody
    instead of passing for a complete one.  Call :func:`declared_length` first
    so an oversized announcement fails before anything is written.
    """
    length = req.content_length
    reads = _reads(req, length)
    received = 0
    while True:
        try:
            data = next(reads, b"")
        except (OSError, ValueError) as exc:  # connection reset, gunicorn's NoMoreData
            raise _incomplete(received, length) from exc
        if not data:
            if length is not None and received < length:
                raise _incomplete(received, length)
            return
        received += len(data)
        if received > limit:
            raise too_large(f"the {what} exceeds the limit of {limit} bytes")
        yield data


def _incomplete(received: int, length: int | None) -> IncompleteBody:
    expected = f" of {length}" if length is not None else ""
    return IncompleteBody(
        f"the request body ended after {received}{expected} bytes; nothing was stored",
        received=received,
    )


def _reads(req: falcon.Request, length: int | None) -> Iterator[bytes]:
    if length is not None:
        direct = _gunicorn_body(req.env)
        if direct is not None:
            return _socket_reads(*direct)
        return _stream_reads(req.bounded_stream, length)
    return _stream_reads(req.stream, None)


def _stream_reads(stream: Any, length: int | None) -> Iterator[bytes]:
    remaining = length
    while remaining is None or remaining > 0:
        data: bytes = stream.read(CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining))
        if not data:
            return
        if remaining is not None:
            remaining -= len(data)
        yield data


def _gunicorn_body(env: dict[str, Any]) -> tuple[Any, Any, Any] | None:
    """gunicorn's (Body, LengthReader, SocketUnreader) when the direct path is safe."""
    try:
        from gunicorn.http.body import Body, LengthReader
        from gunicorn.http.unreader import SocketUnreader
    except ImportError:  # pragma: no cover (gunicorn is a dependency)
        return None
    body = env.get("wsgi.input")
    if isinstance(body, ClientInput):
        body = body.raw
    if not isinstance(body, Body) or not isinstance(body.reader, LengthReader):
        return None
    unreader = body.reader.unreader
    if not isinstance(unreader, SocketUnreader) or unreader.sock is not env.get("gunicorn.socket"):
        return None
    if body.buf.tell() or not isinstance(getattr(unreader, "buf", None), io.BytesIO):
        return None  # someone already read part of the body through wsgi.input
    return body, body.reader, unreader


def _socket_reads(body: Any, reader: Any, unreader: Any) -> Iterator[bytes]:
    """The rest of the body from the socket, keeping gunicorn's reader in step."""
    buffered = unreader.buf.getvalue()
    unreader.buf = io.BytesIO()
    if len(buffered) > reader.length:  # a pipelined next request: give it back
        unreader.unread(buffered[reader.length :])
        buffered = buffered[: reader.length]
    reader.length -= len(buffered)
    if buffered:
        yield buffered
    sock = unreader.sock
    while reader.length > 0:
        try:
            # One call fills the whole chunk (MSG_WAITALL) in a new bytes object:
            # no buffer to zero, no copy to make it immutable.
            data = sock.recv(min(CHUNK_SIZE, reader.length), socket.MSG_WAITALL)
        except BaseException:
            body.failed = True  # where the next request starts is unknown: close after this
            raise
        if not data:
            body.failed = True
            return
        reader.length -= len(data)
        yield data
