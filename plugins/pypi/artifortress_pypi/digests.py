"""Digests of a received file, computed while it streams to storage."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import IO


@dataclass(frozen=True, slots=True)
class FileDigests:
    """Hex digests and size of a received file (what the upload form's digests are checked on)."""

    sha256: str
    md5: str
    blake2_256: str
    size: int


class DigestingWriter:
    """A multipart sink that hashes (sha256, md5, blake2b-256) and counts what it forwards.

    Pass ``target`` (a writable binary file or any callable taking bytes) to forward chunks to
    storage; without one the chunks are only hashed.
    """

    def __init__(self, target: IO[bytes] | None = None) -> None:
        self._target = target
        self._sha256 = hashlib.sha256()
        # md5 only compares a client-sent digest (poetry sends one); it protects nothing.
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._blake2 = hashlib.blake2b(digest_size=32)
        self._size = 0

    def write(self, chunk: bytes) -> int:
        """Hash ``chunk``, forward it, and return its length (file-object protocol)."""
        self._sha256.update(chunk)
        self._md5.update(chunk)
        self._blake2.update(chunk)
        self._size += len(chunk)
        if self._target is not None:
            self._target.write(chunk)
        return len(chunk)

    def digests(self) -> FileDigests:
        """The digests of everything written so far."""
        return FileDigests(
            sha256=self._sha256.hexdigest(),
            md5=self._md5.hexdigest(),
            blake2_256=self._blake2.hexdigest(),
            size=self._size,
        )
