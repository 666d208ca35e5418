"""Client-declared checksums (``X-Checksum-*``), verified while the bytes stream in."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator

from artifortress.plugin import BadRequest

#: header -> (hashlib name, hex length)
HEADERS = {
    "X-Checksum-Sha256": ("sha256", 64),
    "X-Checksum-Sha1": ("sha1", 40),
    "X-Checksum-Md5": ("md5", 32),
}
_HEX = re.compile(r"^[0-9a-f]+$")


def declared(headers: dict[str, str | None]) -> dict[str, str]:
    """``{algorithm: hex}`` of the checksum headers present; 400 if one is malformed."""
    found: dict[str, str] = {}
    for header, (algorithm, length) in HEADERS.items():
        value = headers.get(header)
        if value is None:
            continue
        value = value.strip().lower()
        if len(value) != length or not _HEX.match(value):
            raise BadRequest(f"{header} must be {length} hexadecimal digits")
        found[algorithm] = value
    return found


def verified(chunks: Iterable[bytes], expected: dict[str, str]) -> Iterator[bytes]:
    """Pass *chunks* through; at the end, raise 400 if a declared checksum differs.

    Raising at the end, before the blob store commits, means a mismatch stores
    nothing (sha256 is also checked by the store itself, against the digest).
    """
    hashers = {name: hashlib.new(name) for name in expected if name != "sha256"}
    for chunk in chunks:
        for hasher in hashers.values():
            hasher.update(chunk)
        yield chunk
    for name, hasher in hashers.items():
        if hasher.hexdigest() != expected[name]:
            raise BadRequest(
                f"{name} mismatch: X-Checksum-{name.title()} says {expected[name]}, "
                f"the bytes received hash to {hasher.hexdigest()}; nothing was stored"
            )
