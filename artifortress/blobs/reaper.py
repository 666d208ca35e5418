"""Reaping expired upload sessions and sweeping what crashed uploads left in the store.

Run by ``artifortress blobs reap`` (and later by the worker).  Each expired
session's parts are discarded first, then the session is marked expired and
audited; finished sessions are forgotten after a retention period; finally
the store drops leftovers no open session owns (a process that died between
creating parts and recording the session, a crashed single-request write).
What a writer that died left is dropped at once, whatever its age
(``BlobStore.reclaim``): here, and as each server worker starts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from artifortress import changes
from artifortress.auth.principal import Caller, Principal
from artifortress.blobs.heldfiles import reclaim_scratch
from artifortress.blobs.models import UploadSession
from artifortress.blobs.sessions import EXPIRED, OPEN
from artifortress.blobs.store import BlobStore, BlobStoreUnavailable
from artifortress.db.base import utcnow
from artifortress.repos.models import Repository

log = logging.getLogger("artifortress.blobs.reaper")

#: How long finished sessions stay visible to ``GET .../uploads/{id}``.
RETENTION = dt.timedelta(days=7)


@dataclasses.dataclass(frozen=True)
class ReapReport:
    expired: int
    forgotten: int
    swept: int


def reap(
    sessions: sessionmaker[Session],
    store: BlobStore,
    *,
    grace: dt.timedelta,
    now: dt.datetime | None = None,
    retention: dt.timedelta = RETENTION,
    client_addr: str | None = None,
) -> ReapReport:
    """Expire overdue sessions, forget old finished ones, sweep orphans older than *grace*."""
    now = now or utcnow()
    expired = sum(
        _expire(sessions, store, upload_id, client_addr) for upload_id in _overdue(sessions, now)
    )
    forgotten = _forget(sessions, now - retention)
    with sessions() as db:
        live = set(db.scalars(select(UploadSession.id).where(UploadSession.state == OPEN)))
    swept = store.sweep(now - grace, live) + reclaim_scratch()
    report = ReapReport(expired, forgotten, swept)
    log.info("reaped upload sessions: %s", report)
    return report


def reclaim_dead_writes(store: BlobStore) -> int:
    """Discard what dead writers left (in *store*, and plugins' scratch files on this host).

    Never fails: a worker starts regardless.
    """
    try:
        removed = store.reclaim() + reclaim_scratch()
    except (BlobStoreUnavailable, OSError) as exc:
        log.warning("could not reclaim dead writers' files: %s", exc)
        return 0
    if removed:
        log.info("reclaimed %d files that dead writers left", removed)
    return removed


def _overdue(sessions: sessionmaker[Session], now: dt.datetime) -> list[str]:
    with sessions() as db:
        return list(
            db.scalars(
                select(UploadSession.id).where(
                    UploadSession.state == OPEN, UploadSession.expires_at <= now
                )
            )
        )


def _expire(
    sessions: sessionmaker[Session], store: BlobStore, upload_id: str, client_addr: str | None
) -> int:
    """Discard one session's parts, then mark it expired; 0 if someone else finished it."""
    with sessions() as db:
        found = db.get(UploadSession, upload_id)
        if found is None or found.state != OPEN:
            return 0
    store.abort_upload(found.id, found.backend_handle)
    with sessions.begin() as db:
        session = db.get(UploadSession, upload_id, with_for_update=True)
        if session is None or session.state != OPEN:
            return 0
        session.state = EXPIRED
        session.finished_at = utcnow()
        repo_key = db.scalar(select(Repository.key).where(Repository.id == session.repository_id))
        caller = Caller(Principal.operator(session.tenant_id), client_addr=client_addr)
        changes.of(db).audit(caller, "upload.expire", repo_key=repo_key, target=session.id)
    return 1


def _forget(sessions: sessionmaker[Session], before: dt.datetime) -> int:
    """Delete finished sessions whose retention ran out."""
    finished_at = func.coalesce(UploadSession.finished_at, UploadSession.expires_at)
    with sessions.begin() as db:
        result = db.execute(
            delete(UploadSession).where(UploadSession.state != OPEN, finished_at < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)
