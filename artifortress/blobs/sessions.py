"""Resumable upload sessions: create, receive parts, report status, complete, abort.

A session belongs to one user and one repository; to anyone else, and once
expired, it does not exist (404).  Parts live in the blob store, which is
the truth about what was received; the database holds the session's state.
No database transaction stays open while bytes flow (``end_transaction``).

Completion checks the part layout first (gaps, small parts, total size): a
problem there leaves the session open so the client can re-send parts.  A
digest or size mismatch over the assembled bytes fails the session and
discards its parts (on S3 the parts were already assembled), nothing is
committed, and the client starts a new session.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.auth.principal import Caller, Principal
from artifortress.blobs.models import UploadSession
from artifortress.blobs.services import deduplicate, end_transaction, record_blob
from artifortress.blobs.store import (
    BlobInfo,
    BlobStore,
    DigestMismatch,
    Expectation,
    InvalidParts,
    PartInfo,
    SizeMismatch,
    UploadNotFound,
    UploadNotOpen,
)
from artifortress.db.base import utcnow
from artifortress.errors import ArtifortressError, PayloadTooLarge
from artifortress.repos.models import Repository
from artifortress.settings import Settings

OPEN, COMMITTED, ABORTED, FAILED, EXPIRED = "open", "committed", "aborted", "failed", "expired"
#: S3's limit, applied everywhere so that clients behave the same on every store.
MAX_PARTS = 10_000


@dataclasses.dataclass(frozen=True)
class UploadLimits:
    min_part_size: int
    max_part_size: int
    max_blob_size: int
    ttl: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> UploadLimits:
        return cls(
            min_part_size=settings.upload_min_part_size,
            max_part_size=settings.upload_max_part_size,
            max_blob_size=settings.max_blob_size,
            ttl=dt.timedelta(seconds=settings.upload_session_ttl),
        )


@dataclasses.dataclass(frozen=True)
class Created:
    """Either a new session or, through the dedupe shortcut, an already committed blob."""

    session: UploadSession | None = None
    deduplicated: BlobInfo | None = None


def create_session(
    db: Session,
    caller: Caller,
    store: BlobStore,
    repo: Repository,
    limits: UploadLimits,
    *,
    digest: str,
    size: int,
) -> Created:
    """Open a session for announced bytes, or link a blob the caller may already read."""
    if size > limits.max_blob_size:
        raise PayloadTooLarge(
            f"a blob of {size} bytes exceeds the limit of {limits.max_blob_size} bytes"
        )
    info = deduplicate(db, caller, store, repo, digest, size)
    if info is not None:
        return Created(deduplicated=info)
    upload_id = secrets.token_urlsafe(24)
    handle = store.begin_upload(upload_id)
    now = utcnow()
    session = UploadSession(
        id=upload_id,
        tenant_id=repo.tenant_id,
        repository_id=repo.id,
        user_id=caller.principal.user_id,
        digest=digest,
        size=size,
        state=OPEN,
        backend_handle=handle,
        created_at=now,
        expires_at=now + limits.ttl,
    )
    db.add(session)
    db.flush()
    changes.of(db).audit(
        caller, "upload.create", repo_key=repo.key, target=upload_id, digest=digest, size=size
    )
    return Created(session=session)


def get_session(
    db: Session, principal: Principal, repo: Repository, upload_id: str
) -> UploadSession:
    """The caller's session in *repo*; 404 if unknown, someone else's, or expired."""
    session = db.get(UploadSession, upload_id) if len(upload_id) <= 64 else None
    if (
        session is None
        or session.repository_id != repo.id
        or session.user_id != principal.user_id
        or principal.user_id is None
    ):
        raise UploadNotFound(f"no upload session {upload_id!r} in repository {repo.key!r}")
    if session.state == OPEN and session.expires_at <= utcnow():
        raise UploadNotFound(f"upload session {upload_id!r} has expired")
    return session


def _require_open(session: UploadSession) -> None:
    if session.state != OPEN:
        raise UploadNotOpen(
            f"upload session {session.id!r} is {session.state}; it takes no more changes",
            state=session.state,
        )


def part_limit(session: UploadSession, limits: UploadLimits) -> int:
    """The largest part this session accepts: the configured maximum, or the blob's size."""
    return min(limits.max_part_size, max(session.size, 1))


def write_part(
    db: Session, store: BlobStore, session: UploadSession, number: int, chunks: Iterable[bytes]
) -> PartInfo:
    """Receive part *number* (replacing an earlier one); no transaction held meanwhile."""
    _require_open(session)
    if not 1 <= number <= MAX_PARTS:
        raise InvalidParts(f"part numbers run from 1 to {MAX_PARTS}, not {number}")
    end_transaction(db)
    return store.write_part(session.id, session.backend_handle, number, chunks)


def received_parts(store: BlobStore, session: UploadSession) -> list[PartInfo]:
    """What the store holds for an open session (nothing for a finished one)."""
    if session.state != OPEN:
        return []
    return store.parts(session.id, session.backend_handle)


def check_layout(parts: Sequence[PartInfo], size: int, min_part_size: int) -> None:
    """Parts 1..N without gaps, all but the last big enough, adding up to the announced size."""
    numbers = {p.number for p in parts}
    missing = sorted(set(range(1, max(numbers, default=0) + 1)) - numbers)
    if missing:
        raise InvalidParts(f"parts {missing} are missing; parts are numbered from 1 without gaps")
    total = sum(p.size for p in parts)
    if total != size:
        raise SizeMismatch(
            f"size mismatch: expected {size} bytes, the parts received hold {total}",
            expected=size,
            actual=total,
        )
    small = [p.number for p in parts[:-1] if p.size < min_part_size]
    if small:
        raise InvalidParts(
            f"parts {small} are smaller than {min_part_size} bytes; only the last part may be"
        )


def complete_session(
    db: Session,
    caller: Caller,
    store: BlobStore,
    repo: Repository,
    session: UploadSession,
    limits: UploadLimits,
) -> BlobInfo:
    """Verify digest and size over exactly the received parts, then commit the blob."""
    if session.state == COMMITTED:
        return BlobInfo(session.digest, session.size)  # a retry after a lost answer
    _require_open(session)
    end_transaction(db)
    parts = received_parts(store, session)
    check_layout(parts, session.size, limits.min_part_size)
    expected = Expectation(session.digest, session.size)
    try:
        info = store.complete_upload(session.id, session.backend_handle, parts, expected)
    except (DigestMismatch, SizeMismatch) as exc:
        _fail(db, caller, store, repo, session, exc)
        raise
    _commit(db, caller, repo, session, info, store)
    # Durable before the parts go: a crash in between leaves a retry-able session.
    db.commit()
    _discard_quietly(store, session)
    return info


def _commit(
    db: Session,
    caller: Caller,
    repo: Repository,
    session: UploadSession,
    info: BlobInfo,
    store: BlobStore,
) -> None:
    locked = db.get(UploadSession, session.id, with_for_update=True, populate_existing=True)
    if locked is None:
        raise UploadNotFound(f"upload session {session.id!r} is gone")
    if locked.state == COMMITTED:
        return
    _require_open(locked)
    record_blob(db, repo, info, store)
    locked.state = COMMITTED
    locked.finished_at = utcnow()
    changes.of(db).audit(
        caller,
        "upload.commit",
        repo_key=repo.key,
        target=info.digest,
        size=info.size,
        upload=session.id,
    )


def _fail(
    db: Session,
    caller: Caller,
    store: BlobStore,
    repo: Repository,
    session: UploadSession,
    error: ArtifortressError,
) -> None:
    """Record the failed completion (committed now: the request itself rolls back)."""
    locked = db.get(UploadSession, session.id, with_for_update=True, populate_existing=True)
    if locked is not None and locked.state == OPEN:
        locked.state = FAILED
        locked.finished_at = utcnow()
        changes.of(db).audit(
            caller,
            "upload.commit",
            repo_key=repo.key,
            target=session.digest,
            outcome="failed",
            upload=session.id,
            reason=error.code,
            **error.details,
        )
    db.commit()
    _discard_quietly(store, session)


def _discard_quietly(store: BlobStore, session: UploadSession) -> None:
    """Drop a finished session's leftovers; if the store is down, the reaper's sweep will."""
    with contextlib.suppress(ArtifortressError):
        store.abort_upload(session.id, session.backend_handle)


def abort_session(
    db: Session, caller: Caller, store: BlobStore, repo: Repository, session: UploadSession
) -> None:
    """Discard the parts, then mark the session aborted (an outage changes nothing)."""
    if session.state == ABORTED:
        return
    _require_open(session)
    store.abort_upload(session.id, session.backend_handle)
    session.state = ABORTED
    session.finished_at = utcnow()
    changes.of(db).audit(caller, "upload.abort", repo_key=repo.key, target=session.id)


def session_to_json(
    session: UploadSession, repo: Repository, parts: Sequence[PartInfo] | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": session.id,
        "repo": repo.key,
        "digest": session.digest,
        "size": session.size,
        "state": session.state,
        "created_at": session.created_at.isoformat(),
        "expires_at": session.expires_at.isoformat(),
        "finished_at": session.finished_at.isoformat() if session.finished_at else None,
        "location": f"/v1/repos/{repo.key}/uploads/{session.id}",
    }
    if parts is not None:
        doc["parts"] = [{"number": p.number, "size": p.size} for p in parts]
        doc["received"] = sum(p.size for p in parts)
    return doc
