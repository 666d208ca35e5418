"""Blob digests (``sha256:<64 hex>``) and hashing a stream of chunks."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator

from artifortress.blobs.store import BlobInfo, InvalidDigest

ALGORITHM = "sha256"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
EMPTY_DIGEST = f"{ALGORITHM}:{hashlib.sha256(b'').hexdigest()}"


def parse_digest(raw: object) -> str:
    """A valid digest, or 400 explaining the expected form."""
    # fullmatch: DIGEST's "$" alone would also accept a trailing newline.
    if not isinstance(raw, str) or not DIGEST.fullmatch(raw):
        raise InvalidDigest(
            f"digest {raw!r} is malformed: expected 'sha256:' followed by 64 lower-case "
            "hexadecimal digits"
        )
    return raw


def hex_of(digest: str) -> str:
    """The hexadecimal part of a (valid) digest."""
    return digest.split(":", 1)[1]


def fan_out(digest: str) -> str:
    """The relative content address ``sha256/ab/cd/<hex>`` of a blob."""
    hexdigest = hex_of(parse_digest(digest))
    return f"{ALGORITHM}/{hexdigest[:2]}/{hexdigest[2:4]}/{hexdigest}"


class Hasher:
    """Counts and hashes the bytes passing through it."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._sha.update(data)
        self.size += len(data)

    def through(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Yield *chunks* unchanged, hashing each on the way."""
        for chunk in chunks:
            self.update(chunk)
            yield chunk

    @property
    def digest(self) -> str:
        return f"{ALGORITHM}:{self._sha.hexdigest()}"

    def info(self) -> BlobInfo:
        return BlobInfo(self.digest, self.size)
