"""A blob store that fails on command, for tests of the error paths.

It wraps a real store and passes every call through, unless a fault is
armed for that operation: then it raises (by default the store-outage error)
before or instead of the real call.  Reads can also be cut after some bytes,
which is what a connection to S3 dropping mid-download looks like.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from typing import TypeVar

from artifortress.blobs.store import (
    BlobInfo,
    BlobStore,
    BlobStoreUnavailable,
    BlobStream,
    Expectation,
    PartInfo,
    StoredObject,
)

T = TypeVar("T")
OPERATIONS = (
    "check",
    "size_of",
    "open",
    "presigned_url",
    "write",
    "begin_upload",
    "write_part",
    "parts",
    "complete_upload",
    "abort_upload",
    "delete",
    "stored",
    "quarantine",
    "reclaim",
    "sweep",
)


@dataclasses.dataclass
class _Fault:
    error: BaseException
    #: How many more calls fail; ``None`` means until healed.
    remaining: int | None


class FaultyBlobStore:
    """A pass-through wrapper whose operations can be told to fail."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.calls: list[str] = []
        self._faults: dict[str, _Fault] = {}
        self._cut_reads_after: int | None = None
        self._lock = threading.Lock()

    def fail(
        self, operation: str, error: BaseException | None = None, times: int | None = None
    ) -> None:
        """Make *operation* raise *error* (default: an outage) for *times* calls (default: all)."""
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; known: {OPERATIONS}")
        error = error or BlobStoreUnavailable(self.kind, "injected fault")
        self._faults[operation] = _Fault(error, times)

    def cut_reads_after(self, size: int | None) -> None:
        """Downloads stop with an outage error after *size* bytes (``None`` restores them)."""
        self._cut_reads_after = size

    def heal(self) -> None:
        self._faults.clear()
        self._cut_reads_after = None

    def _call(self, operation: str, run: Callable[[], T]) -> T:
        with self._lock:
            self.calls.append(operation)
            fault = self._faults.get(operation)
            if fault is not None:
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        del self._faults[operation]
                raise fault.error
        return run()

    def check(self) -> None:
        self._call("check", self.inner.check)

    def size_of(self, digest: str) -> int | None:
        return self._call("size_of", lambda: self.inner.size_of(digest))

    def open(self, digest: str, start: int = 0, length: int | None = None) -> BlobStream:
        stream = self._call("open", lambda: self.inner.open(digest, start, length))
        if self._cut_reads_after is None:
            return stream
        return _CutStream(stream, self._cut_reads_after, self.kind)

    def presigned_url(self, digest: str, ttl_seconds: int) -> str | None:
        return self._call("presigned_url", lambda: self.inner.presigned_url(digest, ttl_seconds))

    def write(self, chunks: Iterable[bytes], expected: Expectation) -> BlobInfo:
        return self._call("write", lambda: self.inner.write(chunks, expected))

    def begin_upload(self, upload_id: str) -> str:
        return self._call("begin_upload", lambda: self.inner.begin_upload(upload_id))

    def write_part(
        self, upload_id: str, handle: str, number: int, chunks: Iterable[bytes]
    ) -> PartInfo:
        return self._call(
            "write_part", lambda: self.inner.write_part(upload_id, handle, number, chunks)
        )

    def parts(self, upload_id: str, handle: str) -> list[PartInfo]:
        return self._call("parts", lambda: self.inner.parts(upload_id, handle))

    def complete_upload(
        self, upload_id: str, handle: str, parts: Sequence[PartInfo], expected: Expectation
    ) -> BlobInfo:
        return self._call(
            "complete_upload",
            lambda: self.inner.complete_upload(upload_id, handle, parts, expected),
        )

    def abort_upload(self, upload_id: str, handle: str) -> None:
        self._call("abort_upload", lambda: self.inner.abort_upload(upload_id, handle))

    def delete(self, digest: str) -> None:
        self._call("delete", lambda: self.inner.delete(digest))

    def stored(self) -> Iterator[StoredObject]:
        return self._call("stored", self.inner.stored)

    def quarantine(self, digest: str) -> str | None:
        return self._call("quarantine", lambda: self.inner.quarantine(digest))

    def reclaim(self) -> int:
        return self._call("reclaim", self.inner.reclaim)

    def sweep(self, cutoff: dt.datetime, live: Container[str]) -> int:
        return self._call("sweep", lambda: self.inner.sweep(cutoff, live))

    def close(self) -> None:
        self.inner.close()


class _CutStream:
    """Yields at most *limit* bytes of the real stream, then fails like a dropped connection."""

    def __init__(self, inner: BlobStream, limit: int, kind: str) -> None:
        self._inner = inner
        self._limit = limit
        self._kind = kind

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for chunk in self._inner:
            room = self._limit - sent
            if len(chunk) >= room:
                if room:
                    yield chunk[:room]
                raise BlobStoreUnavailable(self._kind, "injected fault: connection lost mid-read")
            sent += len(chunk)
            yield chunk

    def close(self) -> None:
        self._inner.close()
