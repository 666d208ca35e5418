"""Mark-and-sweep over blobs, safe while uploads and publishes continue.

A blob is *live* when an artifact of a draft or published version references
it, or a tombstoned version still within its retention window does, or when
it is younger than the grace period.  Everything else is collected in two
steps, each in its own short transaction and under the blob row's lock:

1. **condemn**: re-check under lock that it is still unreferenced and set
   ``condemned_at``.  From now on every ingest treats the blob as absent and,
   if it receives the same bytes, writes them again and clears the mark.
2. **sweep**: under lock, if still condemned, delete the bytes from the store,
   drop the repository links and set ``collected_at``.  The row itself stays,
   so artifacts of long-deleted versions keep a valid reference.

Because ingest and sweep both hold the row lock while touching the bytes, a
concurrent upload of the same content either resurrects the blob before the
sweep (which then skips it) or re-creates it after (writing fresh bytes).
No read-only mode is needed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.expression import Exists

from artifortress.blobs.models import Blob, RepoBlob
from artifortress.blobs.store import BlobStore
from artifortress.db.base import utcnow
from artifortress.versions.models import (
    DRAFT,
    PUBLISHED,
    QUARANTINED,
    TOMBSTONED,
    Artifact,
    Version,
)

log = logging.getLogger("artifortress.gc")


@dataclasses.dataclass
class GcReport:
    candidates: int = 0
    collected: int = 0
    bytes_reclaimed: int = 0
    skipped: int = 0
    purged_versions: int = 0
    discarded_drafts: int = 0
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would reclaim" if self.dry_run else "reclaimed"
        return (
            f"{self.candidates} unreferenced blobs; {verb} {self.collected} blobs, "
            f"{_human(self.bytes_reclaimed)}; {self.skipped} skipped (referenced again); "
            f"{self.purged_versions} deleted versions passed their retention; "
            f"{self.discarded_drafts} expired drafts discarded"
        )


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{value:.1f} GiB"


def live_reference(now: dt.datetime, retention: dt.timedelta) -> Exists:
    """SQL condition: some artifact that must keep its bytes references ``Blob.digest``."""
    keeps_bytes = or_(
        # A quarantined version may still be released: its bytes must stay.
        Version.state.in_((PUBLISHED, QUARANTINED)),
        and_(Version.state == DRAFT, Version.expires_at > now),
        and_(Version.state == TOMBSTONED, Version.tombstoned_at > now - retention),
    )
    return exists(
        select(Artifact.id)
        .join(Version, Version.id == Artifact.version_id)
        .where(Artifact.digest == Blob.digest, keeps_bytes)
    )


def find_candidates(
    db: Session, now: dt.datetime, grace: dt.timedelta, retention: dt.timedelta
) -> list[str]:
    """Digests of stored blobs older than the grace period that nothing live references."""
    return list(
        db.scalars(
            select(Blob.digest)
            .where(
                Blob.collected_at.is_(None),
                Blob.created_at < now - grace,
                ~live_reference(now, retention),
            )
            .order_by(Blob.digest)
        )
    )


def discard_expired_drafts(db: Session, now: dt.datetime) -> int:
    """Delete drafts nobody published before they expired, with their file entries."""
    expired = select(Version.id).where(Version.state == DRAFT, Version.expires_at <= now)
    db.execute(delete(Artifact).where(Artifact.version_id.in_(expired)))
    result = db.execute(delete(Version).where(Version.id.in_(expired.scalar_subquery())))
    return int(getattr(result, "rowcount", 0) or 0)


def purge_expired_tombstones(db: Session, now: dt.datetime, retention: dt.timedelta) -> int:
    """Mark tombstones past retention as purged (restore is refused from then on)."""
    result = db.execute(
        update(Version)
        .where(
            Version.state == TOMBSTONED,
            Version.purged_at.is_(None),
            Version.tombstoned_at <= now - retention,
        )
        .values(purged_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _lock_blob(db: Session, digest: str) -> Blob | None:
    return db.scalars(select(Blob).where(Blob.digest == digest).with_for_update()).one_or_none()


def condemn(
    db: Session, digest: str, now: dt.datetime, grace: dt.timedelta, retention: dt.timedelta
) -> bool:
    """Step 1 under the row lock: mark the blob if it is still collectable."""
    blob = _lock_blob(db, digest)
    if blob is None or blob.collected_at is not None or blob.created_at >= now - grace:
        return False
    still_free = db.scalar(select(~live_reference(now, retention)).where(Blob.digest == digest))
    if not still_free:
        return False
    if blob.condemned_at is None:
        blob.condemned_at = now
    return True


def sweep(db: Session, store: BlobStore, digest: str, now: dt.datetime) -> int:
    """Step 2 under the row lock: delete the bytes of a still-condemned blob; returns its size."""
    blob = _lock_blob(db, digest)
    if blob is None or blob.condemned_at is None or blob.collected_at is not None:
        return -1
    store.delete(digest)
    db.execute(delete(RepoBlob).where(RepoBlob.digest == digest))
    blob.collected_at = now
    blob.condemned_at = None
    return int(blob.size)


def collect(
    sessions: sessionmaker[Session],
    store: BlobStore,
    *,
    grace_seconds: float,
    retention_seconds: float,
    dry_run: bool = False,
    progress: Callable[[Iterable[str]], Iterable[str]] = lambda items: items,
) -> GcReport:
    """Run one GC pass; with *dry_run* only report what would be collected."""
    now = utcnow()
    grace = dt.timedelta(seconds=grace_seconds)
    retention = dt.timedelta(seconds=retention_seconds)
    report = GcReport(dry_run=dry_run)
    with sessions.begin() as db:
        if not dry_run:
            report.purged_versions = purge_expired_tombstones(db, now, retention)
            report.discarded_drafts = discard_expired_drafts(db, now)
        candidates: Sequence[str] = find_candidates(db, now, grace, retention)
        sizes = _sizes(db, candidates) if dry_run else {}
    report.candidates = len(candidates)
    for digest in progress(candidates):
        if dry_run:
            report.collected += 1
            report.bytes_reclaimed += int(sizes.get(digest, 0))
            continue
        _collect_one(sessions, store, digest, now, grace, retention, report)
    log.info("gc: %s", report.summary())
    return report


def _sizes(db: Session, digests: Sequence[str]) -> dict[str, int]:
    rows = db.execute(select(Blob.digest, Blob.size).where(Blob.digest.in_(digests))).all()
    return {digest: int(size) for digest, size in rows}


def _collect_one(
    sessions: sessionmaker[Session],
    store: BlobStore,
    digest: str,
    now: dt.datetime,
    grace: dt.timedelta,
    retention: dt.timedelta,
    report: GcReport,
) -> None:
    with sessions.begin() as db:
        condemned = condemn(db, digest, now, grace, retention)
    if not condemned:
        report.skipped += 1
        return
    with sessions.begin() as db:
        size = sweep(db, store, digest, now)
    if size < 0:
        report.skipped += 1
        return
    report.collected += 1
    report.bytes_reclaimed += size
