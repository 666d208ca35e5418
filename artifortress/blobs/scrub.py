"""Scrubbing: re-hash every stored blob and reconcile the store with the database.

One pass finds three kinds of damage:

- **corrupt**: an object whose bytes no longer hash to its digest (bit rot, a
  tampered or truncated file).  It is moved aside (``BlobStore.quarantine``),
  so downloads answer an error instead of wrong bytes, and the next upload
  of the right bytes through any path stores them again;
- **missing**: a live ``blobs`` row whose object is gone.  Reported only:
  nothing but the original bytes can repair it (re-upload them);
- **orphan**: an object no live row names (a crash between writing the bytes
  and recording them, or a restore of an older database).  Reported, and
  removed only on request and once older than GC's grace period, through
  GC's own condemn-and-sweep under the row lock, so an upload of the same
  bytes racing the removal is asked to send them again rather than left
  pointing at nothing.

The database is not changed except for removed orphans (which get a
collected row, as GC leaves).  Rows GC is collecting (condemned) are left
to GC.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from artifortress.blobs.digests import Hasher
from artifortress.blobs.models import Blob
from artifortress.blobs.services import _insert_ignoring_duplicates
from artifortress.blobs.store import BlobInfo, BlobNotFound, BlobStore, StoredObject
from artifortress.db.base import utcnow
from artifortress.gc.services import sweep

log = logging.getLogger("artifortress.blobs.scrub")

#: Wraps the objects to hash (their total size is known) to show progress.
Progress = Callable[[list[StoredObject]], Iterable[StoredObject]]


@dataclasses.dataclass(frozen=True)
class Corrupt:
    digest: str
    expected_size: int
    actual: BlobInfo
    #: Where the object was moved to (``None`` in a dry run).
    moved_to: str | None


@dataclasses.dataclass(frozen=True)
class Orphan:
    digest: str
    size: int
    modified: dt.datetime
    removed: bool


@dataclasses.dataclass
class ScrubReport:
    checked: int = 0
    bytes_checked: int = 0
    corrupt: list[Corrupt] = dataclasses.field(default_factory=list)
    missing: list[str] = dataclasses.field(default_factory=list)
    orphans: list[Orphan] = dataclasses.field(default_factory=list)
    #: Objects left alone because GC is collecting them or they vanished mid-pass.
    skipped: int = 0
    dry_run: bool = False

    @property
    def healthy(self) -> bool:
        """No corrupt and no missing blob (orphans waste space but serve nothing wrong)."""
        return not self.corrupt and not self.missing

    def summary(self) -> str:
        moved = "found" if self.dry_run else "moved aside"
        removed = sum(orphan.removed for orphan in self.orphans)
        return (
            f"{self.checked} blobs re-hashed ({self.bytes_checked} bytes): "
            f"{len(self.corrupt)} corrupt ({moved}), {len(self.missing)} missing from the store, "
            f"{len(self.orphans)} objects without a row ({removed} removed), "
            f"{self.skipped} skipped (being collected)"
        )

    def details(self) -> Iterator[str]:
        """One line per problem, for people."""
        for bad in self.corrupt:
            where = f", moved to {bad.moved_to}" if bad.moved_to else ""
            yield (
                f"corrupt: {bad.digest} ({bad.expected_size} bytes) now hashes to "
                f"{bad.actual.digest} ({bad.actual.size} bytes){where}"
            )
        for digest in self.missing:
            yield f"missing: {digest} has a row but no object; upload the same bytes to heal it"
        for orphan in self.orphans:
            state = "removed" if orphan.removed else "kept"
            written = f"{orphan.modified:%Y-%m-%d}"
            yield f"orphan: {orphan.digest} ({orphan.size} bytes, written {written}) {state}"

    def to_json(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "dry_run": self.dry_run,
            "checked": self.checked,
            "bytes_checked": self.bytes_checked,
            "skipped": self.skipped,
            "corrupt": [
                {
                    "digest": bad.digest,
                    "expected_size": bad.expected_size,
                    "actual_digest": bad.actual.digest,
                    "actual_size": bad.actual.size,
                    "moved_to": bad.moved_to,
                }
                for bad in self.corrupt
            ],
            "missing": list(self.missing),
            "orphans": [
                {
                    "digest": orphan.digest,
                    "size": orphan.size,
                    "modified": orphan.modified.isoformat(),
                    "removed": orphan.removed,
                }
                for orphan in self.orphans
            ],
        }


def scrub(
    sessions: sessionmaker[Session],
    store: BlobStore,
    *,
    grace_seconds: float,
    dry_run: bool = False,
    remove_orphans: bool = False,
    progress: Progress = lambda objects: objects,
) -> ScrubReport:
    """One pass over the whole store; see the module docstring for what it does."""
    report = ScrubReport(dry_run=dry_run)
    rows = _live_rows(sessions)
    objects = list(store.stored())
    listed = {obj.digest for obj in objects}
    to_hash = [obj for obj in objects if obj.digest in rows]
    for obj in progress(to_hash):
        _check_one(sessions, store, obj, rows[obj.digest], report)
    cutoff = utcnow() - dt.timedelta(seconds=grace_seconds)
    for obj in objects:
        if obj.digest not in rows:
            _orphan(sessions, store, obj, cutoff, report, remove=remove_orphans and not dry_run)
    for digest in sorted(set(rows) - listed):
        if _is_missing(sessions, store, digest):
            report.missing.append(digest)
    log.info("scrub: %s", report.summary())
    return report


def _live_rows(sessions: sessionmaker[Session]) -> dict[str, int | None]:
    """Digest -> size of every blob whose bytes should be in the store.

    A row GC condemned maps to ``None``: its object is GC's to delete, so it
    is neither hashed nor an orphan.
    """
    with sessions() as db:
        rows = db.execute(
            select(Blob.digest, Blob.size, Blob.condemned_at).where(Blob.collected_at.is_(None))
        ).all()
    return {digest: (None if condemned else int(size)) for digest, size, condemned in rows}


def _check_one(
    sessions: sessionmaker[Session],
    store: BlobStore,
    obj: StoredObject,
    expected_size: int | None,
    report: ScrubReport,
) -> None:
    if expected_size is None:
        report.skipped += 1  # GC is collecting it
        return
    actual = _hash(store, obj.digest)
    if actual is None:
        report.skipped += 1  # gone since the listing (collected meanwhile)
        return
    report.checked += 1
    report.bytes_checked += actual.size
    if actual == BlobInfo(obj.digest, expected_size):
        return
    moved_to = None if report.dry_run else _move_aside(sessions, store, obj.digest)
    report.corrupt.append(Corrupt(obj.digest, expected_size, actual, moved_to))
    log.error("scrub: blob %s is corrupt (hashes to %s)", obj.digest, actual.digest)


def _hash(store: BlobStore, digest: str) -> BlobInfo | None:
    try:
        stream = store.open(digest)
    except BlobNotFound:
        return None
    hasher = Hasher()
    try:
        for chunk in stream:
            hasher.update(chunk)
    finally:
        stream.close()
    return hasher.info()


def _move_aside(sessions: sessionmaker[Session], store: BlobStore, digest: str) -> str | None:
    """Quarantine under the row lock, so GC's sweep of the same blob waits for it."""
    with sessions.begin() as db:
        db.scalars(select(Blob).where(Blob.digest == digest).with_for_update()).one_or_none()
        return store.quarantine(digest)


def _orphan(
    sessions: sessionmaker[Session],
    store: BlobStore,
    obj: StoredObject,
    cutoff: dt.datetime,
    report: ScrubReport,
    *,
    remove: bool,
) -> None:
    if _recorded_since(sessions, obj.digest):
        return  # an upload in flight during the listing: its row is there now
    removed = remove and obj.modified < cutoff and _remove_orphan(sessions, store, obj)
    report.orphans.append(Orphan(obj.digest, obj.size, obj.modified, removed))


def _recorded_since(sessions: sessionmaker[Session], digest: str) -> bool:
    with sessions() as db:
        blob = db.get(Blob, digest)
        return blob is not None and blob.collected_at is None


def _remove_orphan(sessions: sessionmaker[Session], store: BlobStore, obj: StoredObject) -> bool:
    """GC's two steps: give the object a condemned row (unless one went live), then sweep it.

    An ingest of the same bytes meanwhile finds the row condemned and, under
    the same lock, checks that the bytes are still there (``record_blob``).
    """
    now = utcnow()
    with sessions.begin() as db:
        _insert_ignoring_duplicates(
            db,
            Blob.__table__,  # type: ignore[arg-type]
            digest=obj.digest,
            size=obj.size,
            created_at=obj.modified,
            condemned_at=now,
        )
        blob = db.scalars(
            select(Blob)
            .where(Blob.digest == obj.digest)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if blob.collected_at is None and blob.condemned_at is None:
            return False  # recorded by an upload since the listing: not an orphan any more
        blob.condemned_at, blob.collected_at = now, None
    with sessions.begin() as db:
        return sweep(db, store, obj.digest, now) >= 0


def _is_missing(sessions: sessionmaker[Session], store: BlobStore, digest: str) -> bool:
    """Still live and still without an object (GC may have collected it since the listing)."""
    if store.size_of(digest) is not None:
        return False
    with sessions() as db:
        blob = db.get(Blob, digest)
        return blob is not None and not blob.is_marked
