"""Client-declared checksums (``X-Checksum-*``), verified while the bytes stream in."""

from __future__ import annotations

import hashlib
import queue
import re
import threading
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
    SHA-1 and MD5 are computed on a thread of their own (hashlib releases the
    GIL): on the request thread they would run one after the other with the
    receiving, and MD5 alone is slower than the store's whole pipeline.
    """
    hashers = {name: hashlib.new(name) for name in expected if name != "sha256"}
    if not hashers:
        yield from chunks
        return
    handoff: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
    helper = threading.Thread(target=_hash_all, args=(handoff, hashers), daemon=True)
    helper.start()
    try:
        for chunk in chunks:
            handoff.put(chunk)
            yield chunk
    finally:  # also when the body breaks off or the consumer stops early
        handoff.put(None)
        helper.join()
    for name, hasher in hashers.items():
        if hasher.hexdigest() != expected[name]:
            raise BadRequest(
                f"{name} mismatch: X-Checksum-{name.title()} says {expected[name]}, "
                f"the bytes received hash to {hasher.hexdigest()}; nothing was stored"
            )


def _hash_all(handoff: queue.Queue[bytes | None], hashers: dict[str, hashlib._Hash]) -> None:
    while (chunk := handoff.get()) is not None:
        for hasher in hashers.values():
            hasher.update(chunk)
