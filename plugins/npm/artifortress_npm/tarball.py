"""npm package tarballs: the manifest inside, file statistics, digests and their checks.

Like pacote, which extracts with ``strip: 1``, any top directory name is accepted (npm
itself writes ``package/``). Reads are bounded: the decompressed size (in proportion to
the tarball's, see ``artifortress.plugin.archives``), the time, the number of entries,
the size of ``package.json`` and of any single header read (pax and GNU long names) all
have limits, so a gzip bomb or a crafted header costs little.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import tarfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from artifortress.plugin.archives import ArchiveTooCostly, GunzipReader, UnpackBudget
from artifortress_npm.errors import NpmError

_READ_CHUNK = 1024 * 1024
_MAX_TRAILER = 16 * 1024 * 1024  # zero padding after the end-of-archive marker


@dataclass(frozen=True)
class TarballLimits:
    """Bounds on what inspecting a tarball may cost."""

    max_unpacked_size: int = 2 * 1024**3
    max_entries: int = 200_000
    max_manifest_size: int = 4 * 1024 * 1024
    max_single_read: int = 4 * 1024 * 1024
    #: Bytes and time in proportion to the tarball's size (a gzip bomb is a 400).
    budget: UnpackBudget = UnpackBudget()


@dataclass(frozen=True)
class Digests:
    """Size and digests of a file, as npm's ``dist`` states them."""

    size: int
    sha1: str
    integrity: str


class HasDigests(Protocol):
    """Anything with a size, a sha1 hex and a sha512 integrity (Digests, Attachment)."""

    @property
    def size(self) -> int: ...
    @property
    def sha1(self) -> str: ...
    @property
    def integrity(self) -> str: ...


@dataclass(frozen=True)
class TarballInfo:
    """What the registry learns from a tarball."""

    manifest: dict[str, Any]
    file_count: int
    unpacked_size: int
    has_shrinkwrap: bool
    has_binding_gyp: bool
    digests: Digests


def file_digests(source: str | Path | IO[bytes]) -> Digests:
    """Return size, sha1 hex and ``sha512-<base64>`` integrity of a file (path or open file)."""
    sha1 = hashlib.sha1(usedforsecurity=False)
    sha512 = hashlib.sha512()
    size = 0
    with _opened(source) as handle:
        while chunk := handle.read(_READ_CHUNK):
            size += len(chunk)
            sha1.update(chunk)
            sha512.update(chunk)
    return Digests(size=size, sha1=sha1.hexdigest(), integrity=sri("sha512", sha512.digest()))


@contextlib.contextmanager
def _opened(source: str | Path | IO[bytes]) -> Iterator[IO[bytes]]:
    """*source* read from its start: a path is opened (and closed), a file rewound (left open)."""
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            yield handle
        return
    source.seek(0)
    yield source


def sri(algorithm: str, digest: bytes) -> str:
    """Return a subresource-integrity string such as ``sha512-<base64>``."""
    return f"{algorithm}-{base64.b64encode(digest).decode()}"


def inspect_tarball(
    source: str | Path | IO[bytes],
    limits: TarballLimits | None = None,
    *,
    digests: Digests | None = None,
) -> TarballInfo:
    """Read ``<top>/package.json`` and the file statistics of a .tgz (path or open file).

    *digests*: the file's, when the caller computed them while receiving it
    (spares reading it again). Raises a 400 :class:`NpmError` for a corrupt or
    truncated archive, an entry escaping the package (absolute or ``..``), a
    missing, duplicated or unparsable package.json, and 413 when a limit is exceeded.
    """
    limits = limits or TarballLimits()
    try:
        with _opened(source) as raw:
            unpacked = GunzipReader(
                raw, limits.budget, what="the tarball", max_read=limits.max_single_read
            )
            info = _scan(unpacked.tar(), limits)
            if unpacked.drain() > _MAX_TRAILER:  # the gzip CRC and length are checked too
                raise NpmError("tarball has unexpected data after the end of the archive")
    except ArchiveTooCostly as exc:
        raise NpmError(exc.message) from None
    except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError) as exc:
        raise NpmError(f"corrupt tarball: {exc}") from None
    return TarballInfo(**info, digests=digests or file_digests(source))


def _scan(archive: tarfile.TarFile, limits: TarballLimits) -> dict[str, Any]:
    manifest: dict[str, Any] | None = None
    stats = {"file_count": 0, "unpacked_size": 0, "has_shrinkwrap": False}
    seen_gyp, total, entries = False, 0, 0
    while (member := archive.next()) is not None:
        entries += 1
        if member.size < 0:
            raise NpmError(f"corrupt tarball: entry {member.name[:200]!r} has a negative size")
        total += member.size
        if entries > limits.max_entries:
            raise NpmError(f"tarball has more than {limits.max_entries} entries", 413)
        if total > limits.max_unpacked_size:
            raise NpmError(f"tarball unpacks to more than {limits.max_unpacked_size} bytes", 413)
        parts = _entry_parts(member.name)
        if not member.isreg():
            continue  # pacote skips links and special files; directories carry no data
        stats["file_count"] += 1
        stats["unpacked_size"] += member.size
        inner = parts[1:]
        if inner == ["package.json"]:
            if manifest is not None:
                raise NpmError("tarball has more than one package.json")
            manifest = _read_manifest(archive, member, limits)
        stats["has_shrinkwrap"] = stats["has_shrinkwrap"] or inner == ["npm-shrinkwrap.json"]
        seen_gyp = seen_gyp or inner == ["binding.gyp"]
    if manifest is None:
        raise NpmError("tarball has no package.json in its top directory")
    return {"manifest": manifest, **stats, "has_binding_gyp": seen_gyp}


def _entry_parts(name: str) -> list[str]:
    """Split an entry name; refuse absolute names and ``..`` (also Windows-style)."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise NpmError(f"tarball entry {name[:200]!r} has an absolute path")
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise NpmError(f"tarball entry {name[:200]!r} escapes the package directory")
    return parts


def _read_manifest(
    archive: tarfile.TarFile, member: tarfile.TarInfo, limits: TarballLimits
) -> dict[str, Any]:
    if member.size > limits.max_manifest_size:
        raise NpmError(f"package.json is larger than {limits.max_manifest_size} bytes", 413)
    handle = archive.extractfile(member)
    assert handle is not None  # a regular file always has data
    data = handle.read(member.size)
    try:
        manifest = json.loads(data.decode("utf-8").removeprefix("\ufeff"))
    except (ValueError, RecursionError) as exc:
        raise NpmError(f"package.json in the tarball is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise NpmError("package.json in the tarball is not a JSON object")
    return manifest


def verify_declared(
    dist: object, actual: HasDigests, *, declared_length: int | None = None
) -> None:
    """Check a client's ``dist.shasum``/``dist.integrity`` and attachment ``length``.

    Absent values are not checked (the server recomputes them anyway); present ones must
    match. Integrity hashes of algorithms other than sha512 and sha1 are ignored.
    """
    if declared_length is not None and declared_length != actual.size:
        raise NpmError(f"length mismatch: declared {declared_length}, tarball has {actual.size}")
    if dist is None:
        return
    if not isinstance(dist, Mapping):
        raise NpmError("dist must be an object")
    shasum = dist.get("shasum")
    if shasum is not None and (not isinstance(shasum, str) or shasum.lower() != actual.sha1):
        raise NpmError(f"shasum mismatch: declared {shasum!r}, tarball has {actual.sha1}")
    integrity = dist.get("integrity")
    if integrity is not None:
        _verify_sri(integrity, actual)


def _verify_sri(integrity: object, actual: HasDigests) -> None:
    if not isinstance(integrity, str) or not integrity.strip():
        raise NpmError("dist.integrity must be a non-empty string")
    sha1_sri = sri("sha1", bytes.fromhex(actual.sha1))
    for token in integrity.split():
        algorithm, dash, _ = token.partition("-")
        if not dash:
            raise NpmError(f"dist.integrity is not a subresource integrity string: {token!r}")
        expected = {"sha512": actual.integrity, "sha1": sha1_sri}.get(algorithm)
        if expected is not None and token.split("?", 1)[0] != expected:
            raise NpmError(f"integrity mismatch: declared {token}, tarball has {expected}")
