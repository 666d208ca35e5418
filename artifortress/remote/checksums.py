"""What an upstream's metadata promises about a file's bytes, checked while they stream.

The promise is a sha256 (hex, as PyPI's index gives it) and/or an npm
``integrity`` string (Subresource Integrity: ``sha512-<base64>``, several
hashes separated by spaces). As SRI prescribes, the strongest algorithm
present decides, and any of its hashes matching is enough.

Where the metadata promises nothing (generic upstreams), the file's own
response may: :func:`declared` reads ``X-Checksum-Sha256`` (Artifactory,
Nexus, Artifortress), ``Content-Digest`` (RFC 9530) and ``Digest`` (RFC 3230).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping

#: SRI algorithms we verify, weakest first (npm's old packages carry only sha1).
SRI_ALGORITHMS = ("sha1", "sha256", "sha384", "sha512")
#: ``Content-Digest`` / ``Digest`` algorithm names, as SRI spells them.
_HTTP_ALGORITHMS = {"sha-256": "sha256", "sha-512": "sha512"}
#: One member of ``Content-Digest: sha-256=:<base64>:`` or ``Digest: SHA-256=<base64>``.
_HTTP_DIGEST = re.compile(r"^\s*([A-Za-z0-9-]+)\s*=\s*:?([A-Za-z0-9+/=]*):?\s*$")


class BadIntegrity(ValueError):
    """The integrity string names no algorithm we know, or is not base64."""


def parse_integrity(integrity: str) -> tuple[str, frozenset[bytes]]:
    """The strongest algorithm of *integrity* and the digests it accepts."""
    found: dict[str, set[bytes]] = {}
    for token in integrity.split():
        algorithm, _, value = token.partition("-")
        if algorithm not in SRI_ALGORITHMS:
            continue  # unknown algorithms are ignored, as SRI says
        try:
            digest = base64.b64decode(value.split("?", 1)[0], validate=True)
        except binascii.Error:
            raise BadIntegrity(f"integrity {token[:80]!r} is not base64") from None
        found.setdefault(algorithm, set()).add(digest)
    if not found:
        raise BadIntegrity(f"integrity {integrity[:80]!r} names no hash of {SRI_ALGORITHMS}")
    strongest = max(found, key=SRI_ALGORITHMS.index)
    return strongest, frozenset(found[strongest])


class Checksums:
    """Hashes the bytes once, for the blob's sha256 and whatever else was promised."""

    def __init__(self, sha256: str | None = None, integrity: str | None = None) -> None:
        self._sha256_expected = sha256.lower() if sha256 else None
        self._sri = parse_integrity(integrity) if integrity else None
        self._hashes = {"sha256": hashlib.sha256()}
        if self._sri is not None and self._sri[0] != "sha256":
            self._hashes[self._sri[0]] = hashlib.new(self._sri[0])
        self.size = 0

    def update(self, chunk: bytes) -> None:
        for hasher in self._hashes.values():
            hasher.update(chunk)
        self.size += len(chunk)

    def through(self, chunks: Iterable[bytes]) -> Iterable[bytes]:
        for chunk in chunks:
            self.update(chunk)
            yield chunk

    @property
    def sha256(self) -> str:
        return self._hashes["sha256"].hexdigest()

    def mismatch(self) -> str | None:
        """Why the bytes are not the promised ones, or ``None`` if they are.

        It names the digest promised, never the one of the bytes received: the
        message reaches clients, and must not tell anyone the hash of whatever
        an upstream returned for the file (a file of theirs, or a secret).
        """
        if self._sha256_expected is not None and self.sha256 != self._sha256_expected:
            return f"bytes that differ from the sha256 {self._sha256_expected} announced"
        if self._sri is not None:
            algorithm, accepted = self._sri
            if self._hashes[algorithm].digest() not in accepted:
                return f"bytes that differ from the {algorithm} integrity announced"
        return None


def declared(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The sha256 (hex) and/or SRI integrity a file's response declares for its body.

    ``(None, None)`` when it declares nothing we can check (unknown algorithms
    are ignored, as SRI says).
    """
    sha256 = headers.get("X-Checksum-Sha256", "").strip() or None
    hashes = [
        sri
        for field in ("Content-Digest", "Digest")
        for member in headers.get(field, "").split(",")
        if (sri := _as_sri(member)) is not None
    ]
    return sha256, " ".join(hashes) or None


def _as_sri(member: str) -> str | None:
    """``sha-256=:abc=:`` (or ``SHA-256=abc=``) as ``sha256-abc=``; ``None`` if unknown."""
    match = _HTTP_DIGEST.match(member)
    if match is None:
        return None
    algorithm = _HTTP_ALGORITHMS.get(match.group(1).lower())
    return f"{algorithm}-{match.group(2)}" if algorithm else None
