"""A hosted package's packument rebuilt from kept per-version pieces, not from every version.

``npm publish`` (npm 11) reads the packument before each PUT, to refuse a
reused number, so every publish finds the stored packument stale and has it
rebuilt. Rebuilt from scratch, that loaded and decoded every version's
metadata and serialized every version again: 55 ms of CPU at 300 versions,
growing with each one. A published version's metadata never changes (the
database refuses it), so its serialized objects are kept here, in process,
keyed by what identifies it and by the one thing about it that may change
(its deprecation). A rebuild then reads the versions' light rows (no
metadata), the labels, and the metadata of only the versions not kept yet
(after a publish: the new one) and of the version ``latest`` points to (its
readme and the fields hoisted to the top of the document).

The bytes are those :func:`packument.build_packument` makes (tests compare
them); the stored rendering and its change counter still decide when a
rebuild happens, so this only makes the rebuild cheaper.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from datetime import datetime

from artifortress.plugin import Gateway, RepoInfo, VersionInfo
from artifortress_npm.packument import (
    BASE_PLACEHOLDER,
    VersionPieces,
    packument_from_pieces,
    version_pieces,
)
from artifortress_npm.records import EPOCH, latest_of, publisher, state_of, version_record
from artifortress_npm.state import VersionRecord

#: (repository id, package, version, published at, deprecation): a published
#: version's number is never reused in its repository and its metadata never
#: changes; the publication time tells apart databases one process has seen
#: (test suites), as the change time does for stored renderings.
PieceKey = tuple[int, str, str, datetime | None, str | None]

#: Past this many versions not kept (a cold process), one query loads them all.
FEW = 8


@dataclasses.dataclass(frozen=True)
class Kept:
    """What a packument needs of one version beyond its light row."""

    pieces: VersionPieces
    #: Its ``_npmUser`` (the document's maintainers), if recorded.
    publisher: dict[str, str] | None

    @property
    def size(self) -> int:
        return len(self.pieces.full) + len(self.pieces.abbreviated)


class PieceCache:
    """Thread-safe LRU of versions' pieces, bounded by their total size."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._entries: OrderedDict[PieceKey, Kept] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: PieceKey) -> Kept | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: PieceKey, kept: Kept) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            self._bytes += kept.size - (old.size if old else 0)
            self._entries[key] = kept
            while self._bytes > self._max_bytes and self._entries:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size


#: About 25,000 versions of typical size per process.
PIECES = PieceCache(64 * 1024 * 1024)


def packument_body(
    gateway: Gateway, repo: RepoInfo, name: str, *, abbreviated: bool
) -> bytes | None:
    """One form of the package's packument (tarball URLs under BASE_PLACEHOLDER).

    ``None`` when the package has no live version, or when this way cannot
    build it (a version unpublished between two reads, a document only the
    slow serializer takes): the caller then builds it the usual way.
    """
    versions = gateway.versions(repo, name, include_deleted=True, light=True)
    live = [v for v in versions if v.state == "published"]
    if not live:
        return None
    numbers = {v.version for v in live}
    tags = {tag: v for tag, v in gateway.labels(repo, name).items() if v in numbers}
    latest = latest_of(live, tags)
    assert latest is not None  # live is not empty
    keys = {v.version: _key(repo, name, v) for v in live}
    kept = {v.version: PIECES.get(keys[v.version]) for v in live}
    wanted = [number for number, found in kept.items() if found is None]
    full = _full_infos(gateway, repo, name, [*wanted, latest.version])
    if full is None:
        return None
    for number in wanted:
        made = _kept(name, version_record(full[number]))
        PIECES.put(keys[number], made)
        kept[number] = made
    done = {number: found for number, found in kept.items() if found is not None}
    records = {v.version: _light_record(v) for v in live}
    records[latest.version] = version_record(full[latest.version])  # hoisted fields
    publishers = [done[v.version].publisher for v in live]
    state = state_of(name, versions, tags, records, full[latest.version], publishers)
    pieces = {number: found.pieces for number, found in done.items()}
    return packument_from_pieces(state, pieces, abbreviated=abbreviated)


def _key(repo: RepoInfo, name: str, version: VersionInfo) -> PieceKey:
    return (repo.id, name, version.version, version.published_at, version.deprecated)


def _kept(name: str, record: VersionRecord) -> Kept:
    return Kept(version_pieces(name, record, BASE_PLACEHOLDER), publisher(record))


def _full_infos(
    gateway: Gateway, repo: RepoInfo, name: str, numbers: list[str]
) -> dict[str, VersionInfo] | None:
    """The versions *numbers* with their metadata: one by one if few, else all at once."""
    if len(set(numbers)) > FEW:
        found = {v.version: v for v in gateway.versions(repo, name)}
    else:
        found = {}
        for number in set(numbers):
            info = gateway.version(repo, name, number)
            if info is not None:
                found[number] = info
    # Unpublished since the light read (PostgreSQL reads each statement afresh).
    return found if all(number in found for number in numbers) else None


def _light_record(version: VersionInfo) -> VersionRecord:
    """What the document's top level reads of a version: its number, time and deprecation."""
    return VersionRecord(
        version=version.version,
        manifest={},
        shasum="",
        integrity="",
        published=version.published_at or EPOCH,
        deprecated=version.deprecated,
    )
