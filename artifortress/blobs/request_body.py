"""The one reader of request bodies: bounded, chunked or not, failing as the client's 400/413.

Every body a route or plugin reads goes through :class:`RequestBody`: a
``Content-Length`` over the limit is a 413 before a byte is read, a body
passing the limit while it streams (chunked) a 413 then, a body ending
before its ``Content-Length`` or with a broken chunked encoding a 400
(:class:`~artifortress.blobs.wsgibody.ClientInput`), and under gunicorn a
body of known length comes straight from the socket (MSG_WAITALL, see
:mod:`artifortress.blobs.wsgibody`).  Streaming parsers iterate it or call
``read(size)``; small bodies are read whole with :func:`read_body`.
"""

from __future__ import annotations

from collections.abc import Iterator

import falcon

from artifortress.blobs.wsgibody import body_chunks, declared_length


class RequestBody:
    """The request body, once: iterate it in chunks of at most 1 MiB, or ``read()`` it.

    Both ways share one position, so a parser may mix them.  Errors are
    raised as the bytes are read: 413 past *limit*, 400 for a broken or
    truncated body, so nothing read from it is ever mistaken for the whole.
    """

    def __init__(self, req: falcon.Request, limit: int, what: str = "request body") -> None:
        declared_length(req, limit, what)  # an announced oversize is refused before reading
        self._chunks = body_chunks(req, limit, what)
        self._pending = memoryview(b"")

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._pending:
            return self._take(len(self._pending))
        return next(self._chunks)

    def read(self, size: int | None = -1, /) -> bytes:
        """At most *size* bytes (all that is left for a negative size); ``b""`` at the end."""
        if size is None or size < 0:
            return b"".join(self)
        if not self._pending:
            chunk = next(self._chunks, b"")
            if len(chunk) <= size:
                return chunk  # the usual case: no copy
            self._pending = memoryview(chunk)
        return self._take(size)

    def _take(self, size: int) -> bytes:
        data = bytes(self._pending[:size])
        self._pending = self._pending[size:]
        return data


def read_body(req: falcon.Request, limit: int, what: str = "request body") -> bytes:
    """The whole (small) body: 413 past *limit*, 400 when it ends before its length."""
    return RequestBody(req, limit, what).read()
