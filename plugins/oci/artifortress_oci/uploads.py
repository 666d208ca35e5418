"""The state of a blob upload, carried in its URL (pure).

Each ``PATCH`` stores its chunk as a blob of the repository (hashed, verified,
collected by GC if no manifest ever references it); the upload's reference,
which the spec leaves opaque and clients take from each ``Location``, lists the
chunks so far. No server-side session: any worker or node continues an upload,
and a chunk that failed half-way left nothing, so the client resumes from the
last ``Location``. A forged reference only names blobs the repository holds,
which the writer may read anyway, and the final digest is verified.

``DELETE`` cancels an upload by storing a small marker blob whose bytes name
the upload (:func:`cancellation_marker`): the blob plane is the state every
worker and node shares. Each later request on the upload finds the marker and
answers ``BLOB_UPLOAD_UNKNOWN`` (404); like the chunks, the marker is
unreferenced, so GC collects it after its grace period.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import re
import secrets

from artifortress_oci.errors import BLOB_UPLOAD_INVALID, BLOB_UPLOAD_UNKNOWN, OciError

#: The reference travels in URLs: this many chunks keep it under 3 KB.
MAX_CHUNKS = 64
_DIGEST_BYTES = 32
_REFERENCE = re.compile(
    r"(?P<id>[A-Za-z0-9_-]{16})\.(?P<size>0|[1-9][0-9]{0,15})\.(?P<chunks>[A-Za-z0-9_-]*)"
)
_CONTENT_RANGE = re.compile(r"(?:bytes[ =])?(?P<start>[0-9]{1,16})-(?P<end>[0-9]{1,16})(?:/.*)?")


@dataclasses.dataclass(frozen=True)
class UploadState:
    id: str
    size: int
    chunks: tuple[str, ...] = ()

    @classmethod
    def new(cls) -> UploadState:
        return cls(secrets.token_urlsafe(12), 0)

    @classmethod
    def parse(cls, reference: str) -> UploadState:
        """The state a reference carries; BLOB_UPLOAD_UNKNOWN (404) for anything else."""
        found = _REFERENCE.fullmatch(reference)
        raw = _unb64(found["chunks"]) if found else None
        if found is None or raw is None or len(raw) % _DIGEST_BYTES:
            raise OciError(BLOB_UPLOAD_UNKNOWN, f"no blob upload {reference[:100]!r}", 404)
        chunks = tuple(
            "sha256:" + raw[i : i + _DIGEST_BYTES].hex() for i in range(0, len(raw), _DIGEST_BYTES)
        )
        if len(chunks) > MAX_CHUNKS or (int(found["size"]) == 0) != (not chunks):
            raise OciError(BLOB_UPLOAD_UNKNOWN, f"no blob upload {reference[:100]!r}", 404)
        return cls(found["id"], int(found["size"]), chunks)

    @property
    def reference(self) -> str:
        raw = b"".join(bytes.fromhex(c.split(":", 1)[1]) for c in self.chunks)
        return f"{self.id}.{self.size}.{base64.urlsafe_b64encode(raw).decode().rstrip('=')}"

    @property
    def range(self) -> str:
        """The ``Range`` header: the bytes received, ``0-0`` before any (as registries send)."""
        return f"0-{max(self.size - 1, 0)}"

    def check_room(self) -> None:
        """Refuse a chunk past :data:`MAX_CHUNKS` before its bytes are read."""
        if len(self.chunks) >= MAX_CHUNKS:
            raise OciError(
                BLOB_UPLOAD_INVALID,
                f"an upload takes at most {MAX_CHUNKS} chunks: send larger ones",
                416,
            )

    def with_chunk(self, digest: str, size: int) -> UploadState:
        if size == 0:
            return self
        self.check_room()
        return UploadState(self.id, self.size + size, (*self.chunks, digest))


def cancellation_marker(upload_id: str) -> bytes:
    """The bytes whose blob, held by the repository, says upload *upload_id* was cancelled."""
    return b"artifortress-oci cancelled blob upload " + upload_id.encode()


def cancellation_digest(upload_id: str) -> str:
    return "sha256:" + hashlib.sha256(cancellation_marker(upload_id)).hexdigest()


def check_content_range(header: str | None, state: UploadState) -> int | None:
    """A chunk's ``Content-Range`` must start where the upload stands (else 416): its length."""
    if header is None:
        return None
    found = _CONTENT_RANGE.fullmatch(header.strip())
    if found is None:
        raise OciError(BLOB_UPLOAD_INVALID, f"invalid Content-Range {header[:100]!r}", 416)
    start, end = int(found["start"]), int(found["end"])
    if start != state.size or end < start:
        raise OciError(
            BLOB_UPLOAD_INVALID,
            f"chunk {start}-{end} is out of order: the upload holds {state.size} bytes",
            416,
        )
    return end - start + 1


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
