"""Reading a WSGI request body: in chunks, within Content-Length and a size limit."""

from __future__ import annotations

from typing import Protocol

from .errors import PayloadTooLarge, PypiError


class Readable(Protocol):
    """The part of ``wsgi.input`` the readers use."""

    def read(self, size: int = ..., /) -> bytes:
        """Read at most ``size`` bytes; an empty result means end of stream."""
        ...


def too_large_message(limit: int) -> str:
    """The 413 message for a body over ``limit`` bytes."""
    return f"File too large. Limit is {limit // (1024 * 1024)} MiB."


class BodyReader:
    """Read the body in chunks, never past Content-Length (WSGI input may block there).

    An early end of stream is a truncated upload; more than ``max_body`` bytes is a 413.
    """

    def __init__(
        self, stream: Readable, content_length: int | None, max_body: int, chunk_size: int
    ) -> None:
        self._stream = stream
        self._remaining = content_length
        self._max_body = max_body
        self._chunk_size = chunk_size
        self._total = 0

    def __iter__(self) -> BodyReader:
        return self

    def __next__(self) -> bytes:
        size = self._chunk_size
        if self._remaining is not None:
            if self._remaining <= 0:
                raise StopIteration
            size = min(size, self._remaining)
        chunk = self._stream.read(size)
        if not chunk:
            if self._remaining is not None:
                raise PypiError("Upload truncated: the request body ended early.")
            raise StopIteration
        self._total += len(chunk)
        if self._remaining is not None:
            self._remaining -= len(chunk)
        if self._total > self._max_body:
            raise PayloadTooLarge(too_large_message(self._max_body))
        return chunk
