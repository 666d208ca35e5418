"""What a remote repository has cached, and purging it (``/v1/repos/{repo}/cache``).

Metadata documents live in ``remote_documents`` until purged: the next
request for one fetches it again.  Cached files are published versions of the
remote; purging them tombstones those versions (audited like any deletion; it
is the only way to delete a version of a remote), and the garbage collector
reclaims their bytes once the tombstone retention has passed.  The next request
for a purged file fetches it again (:mod:`~artifortress.remote.files`): bytes
identical to those once served restore the version, other bytes are refused
(502) and nothing is stored, for an artifact's bytes never change.  Versions
a policy holds in quarantine or rejected are not purged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.auth.principal import Caller
from artifortress.db.base import iso, utcnow
from artifortress.errors import Conflict
from artifortress.remote.documents import NEGATIVE_TTL
from artifortress.remote.models import RemoteDocument
from artifortress.repos.kinds import REMOTE
from artifortress.repos.models import Repository, RepositoryUpstream
from artifortress.repos.views import RepoRef
from artifortress.versions import lifecycle
from artifortress.versions.models import PUBLISHED, Artifact, Version


def cache_report(
    db: Session, repo: Repository | RepoRef, *, after: str | None, limit: int
) -> dict[str, Any]:
    """The cached documents of remote *repo* (by key, a page after *after*) and file totals."""
    ttl = _ttl(db, repo)
    now = utcnow()
    query = (
        select(
            RemoteDocument.key,
            RemoteDocument.status,
            RemoteDocument.content_type,
            func.length(RemoteDocument.body),
            RemoteDocument.fetched_at,
            RemoteDocument.checked_at,
        )
        .where(RemoteDocument.repository_id == repo.id)
        .order_by(RemoteDocument.key)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(RemoteDocument.key > after)
    rows = db.execute(query).all()
    documents = [_document(row, ttl, now) for row in rows[:limit]]
    more = len(rows) > limit
    return {
        "repository": repo.key,
        "metadata_ttl": ttl,
        "documents": documents,
        "next_after": documents[-1]["key"] if more else None,
        "files": _file_totals(db, repo.id),
    }


def purge(
    db: Session, caller: Caller, repo: Repository | RepoRef, *, files: bool
) -> dict[str, Any]:
    """Forget the cached metadata of remote *repo*; with *files*, tombstone its versions too."""
    _ttl(db, repo)  # 409 unless remote
    forgotten = db.execute(delete(RemoteDocument).where(RemoteDocument.repository_id == repo.id))
    documents = int(getattr(forgotten, "rowcount", 0) or 0)
    versions = 0
    if files:
        for version in db.scalars(_published(repo.id)):
            lifecycle.tombstone(db, caller, version)
            versions += 1
    changes.of(db).audit(
        caller, "remote.cache.purge", repo_key=repo.key, documents=documents, versions=versions
    )
    return {"documents": documents, "versions": versions}


def _ttl(db: Session, repo: Repository | RepoRef) -> int:
    upstream = db.get(RepositoryUpstream, repo.id)
    if repo.kind != REMOTE or upstream is None:
        raise Conflict(f"repository {repo.key!r} is {repo.kind}, not remote: it caches nothing")
    return upstream.metadata_ttl_seconds


def _document(row: Any, ttl: int, now: dt.datetime) -> dict[str, Any]:
    key, status, content_type, size, fetched_at, checked_at = row
    lifetime = ttl if status == 200 else min(NEGATIVE_TTL, ttl)
    return {
        "key": key,
        # 404: the upstream said it has no such document (remembered briefly).
        "status": status,
        "content_type": content_type,
        "size": int(size or 0),
        "fetched_at": iso(fetched_at),
        "checked_at": iso(checked_at),
        # Older than the TTL: the next request revalidates it with the upstream.
        "expired": now - checked_at >= dt.timedelta(seconds=lifetime),
    }


def _published(repository_id: int) -> Any:
    return select(Version).where(Version.repository_id == repository_id, Version.state == PUBLISHED)


def _file_totals(db: Session, repository_id: int) -> dict[str, int]:
    versions, count, size = db.execute(
        select(
            func.count(func.distinct(Version.id)),
            func.count(Artifact.id),
            func.coalesce(func.sum(Artifact.size), 0),
        )
        .select_from(Version)
        .join(Artifact, Artifact.version_id == Version.id)
        .where(Version.repository_id == repository_id, Version.state == PUBLISHED)
    ).one()
    return {"versions": int(versions), "count": int(count), "bytes": int(size)}
