"""Reading large request bodies: bounded chunks, early 413, and no silent truncation.

Under gunicorn, a body of known length is read straight from the client's
socket in chunks of 1 MiB.  gunicorn's own ``wsgi.input`` copies every
byte through two ``BytesIO`` layers, which caps an upload at a third of what
the socket delivers; the direct path keeps gunicorn's books (the bytes it
already buffered come first, ``LengthReader.length`` is kept current, a
broken body marks the connection as not reusable), so keep-alive and
pipelining work as before.  Anything else (chunked bodies, other servers,
tests) goes through the portable ``wsgi.input`` path.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from typing import Any

import falcon

from artifortress.blobs.store import CHUNK_SIZE, IncompleteBody, PartTooLarge


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
            raise PartTooLarge(f"the {what} exceeds the limit of {limit} bytes")
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
