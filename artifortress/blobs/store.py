"""The ``BlobStore`` protocol every backend implements, and the errors it may raise.

A store keeps immutable, content-addressed blobs (``sha256:<hex>``) and the
parts of upload sessions in flight.  It never exposes a partial or unverified
object under a blob's address: single-request writes and session completions
verify the digest and size over exactly the bytes they place there.  Vendor
errors (botocore, ``OSError``) are translated inside each backend into the
errors below, so nothing above a backend knows which one it talks to.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Container, Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable

from artifortress.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
)

#: Bytes read, hashed and written at a time: large enough for hashlib and the
#: kernel to run at full speed, small enough to keep every transfer's memory bounded.
CHUNK_SIZE = 1024 * 1024


class BlobNotFound(NotFound):
    """No blob with that digest in the store (or none linked to the repository)."""

    code = "blob_not_found"


class UploadNotFound(NotFound):
    """No such upload session: unknown, expired, finished or someone else's."""

    code = "upload_not_found"


class UploadBusy(Conflict):
    """Another request is completing the same session right now."""

    code = "upload_busy"


class UploadNotOpen(Conflict):
    """The session was committed, aborted or failed; it takes no more parts."""

    code = "upload_not_open"


class InvalidDigest(BadRequest):
    code = "invalid_digest"


class DigestMismatch(BadRequest):
    """The bytes received do not hash to the digest the client announced."""

    code = "digest_mismatch"


class SizeMismatch(BadRequest):
    """The bytes received are not as many as the client announced."""

    code = "size_mismatch"


class InvalidParts(BadRequest):
    """The received parts cannot form the blob (gap, too small, wrong total)."""

    code = "invalid_parts"


class IncompleteBody(BadRequest):
    """The client stopped sending before the announced length (e.g. it disconnected)."""

    code = "incomplete_body"


class MalformedBody(BadRequest):
    """The body's framing is broken (an invalid chunk size, a missing chunk terminator)."""

    code = "malformed_body"


class PartTooLarge(PayloadTooLarge):
    code = "part_too_large"


class BlobStoreUnavailable(ServiceUnavailable):
    """The blob store cannot be reached or fails; metadata APIs keep working."""

    code = "blob_store_unavailable"

    def __init__(self, backend: str, reason: str) -> None:
        super().__init__(
            f"the blob store ({backend}) is unavailable: {reason}; retry shortly",
            service="blob_store",
            backend=backend,
        )


@dataclasses.dataclass(frozen=True)
class BlobInfo:
    """A committed blob: its ``sha256:<hex>`` digest and size in bytes."""

    digest: str
    size: int


@dataclasses.dataclass(frozen=True)
class StoredObject:
    """A blob object as the store lists it (for ``artifortress scrub``): no row is consulted."""

    digest: str
    size: int
    #: When the object was written (an orphan younger than GC's grace may be an upload in flight).
    modified: dt.datetime


@dataclasses.dataclass(frozen=True)
class PartInfo:
    """One received part of an upload session (``etag`` is the backend's, if any)."""

    number: int
    size: int
    etag: str | None = None


@dataclasses.dataclass(frozen=True)
class Expectation:
    """What the client announced; ``None`` means "accept what arrives"."""

    digest: str | None = None
    size: int | None = None

    def verify(self, actual: BlobInfo) -> None:
        """Raise :class:`SizeMismatch` / :class:`DigestMismatch` naming both values."""
        if self.size is not None and actual.size != self.size:
            raise SizeMismatch(
                f"size mismatch: expected {self.size} bytes, received {actual.size}; "
                "nothing was stored",
                expected=self.size,
                actual=actual.size,
            )
        if self.digest is not None and actual.digest != self.digest:
            raise DigestMismatch(
                f"digest mismatch: expected {self.digest}, the {actual.size} bytes received "
                f"hash to {actual.digest}; nothing was stored",
                expected=self.digest,
                actual=actual.digest,
            )


@runtime_checkable
class BlobStream(Protocol):
    """A download body: iterated by the WSGI server, closed when done."""

    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class BlobStore(Protocol):
    """Where blob bytes live.  Every method may raise :class:`BlobStoreUnavailable`."""

    #: Short backend name used in messages and metrics ("local", "s3").
    kind: str

    def check(self) -> None:
        """Raise :class:`BlobStoreUnavailable` unless the store is usable (readiness)."""

    def size_of(self, digest: str) -> int | None:
        """The size of a stored blob, or ``None`` when it is not in the store."""

    def open(self, digest: str, start: int = 0, length: int | None = None) -> BlobStream:
        """Stream ``length`` bytes from ``start`` (to the end if ``None``); BlobNotFound."""

    def presigned_url(self, digest: str, ttl_seconds: int) -> str | None:
        """A short-lived URL the client may fetch the blob from, or ``None`` if unsupported."""

    def write(self, chunks: Iterable[bytes], expected: Expectation) -> BlobInfo:
        """Store bytes sent in one go: hash while writing, verify, then commit.

        Errors raised by *chunks* (a client that went away) propagate after
        everything written so far has been discarded.
        """

    def begin_upload(self, upload_id: str) -> str:
        """Prepare a session's part storage; returns the backend handle to keep."""

    def write_part(
        self, upload_id: str, handle: str, number: int, chunks: Iterable[bytes]
    ) -> PartInfo:
        """Store part *number*, replacing an earlier one only once this one is complete."""

    def parts(self, upload_id: str, handle: str) -> list[PartInfo]:
        """The parts received so far, by number; UploadNotFound if the session is gone."""

    def complete_upload(
        self, upload_id: str, handle: str, parts: Sequence[PartInfo], expected: Expectation
    ) -> BlobInfo:
        """Verify the concatenated *parts* against *expected* and commit the blob.

        Retry-safe: the parts (or what they became) stay until
        :meth:`abort_upload` discards them, so a completion interrupted after
        the blob was placed can run again.  Raises DigestMismatch/SizeMismatch
        without placing anything.
        """

    def abort_upload(self, upload_id: str, handle: str) -> None:
        """Discard everything the session left in the store (idempotent)."""

    def delete(self, digest: str) -> None:
        """Remove a blob (garbage collection only; idempotent)."""

    def stored(self) -> Iterator[StoredObject]:
        """Every committed blob object, in no particular order (scrub's reconciliation)."""

    def quarantine(self, digest: str) -> str | None:
        """Move a blob's object out of its address, kept for inspection; where it went.

        From then on the blob is missing: downloads answer an error instead of
        the bytes, and an upload of the right bytes stores them again.
        ``None`` when there was no object to move (idempotent).
        """

    def reclaim(self) -> int:
        """Discard now what writers that died left (a killed worker's partial files).

        Never a live writer's, however old; a store that cannot tell them
        apart leaves both to :meth:`sweep` and returns 0.
        """

    def sweep(self, cutoff: dt.datetime, live: Container[str]) -> int:
        """Discard upload leftovers older than *cutoff* whose session id is not *live*."""

    def close(self) -> None:
        """Release connections and file handles."""


def describe_error(exc: BaseException) -> str:
    """The first line of an exception, for messages that must stay short."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
