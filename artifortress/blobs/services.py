"""Blob records: which blobs exist, which repository holds which, and single-request ingest.

``ingest`` is what format plugins call when their protocol sends a file in
one request (twine, npm publish, a generic PUT): the bytes are hashed while
they are written, verified against what the client announced, and only then
recorded and linked to the repository.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, false, or_, select, text
from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.auth.principal import Caller, Principal
from artifortress.blobs.digests import hex_of
from artifortress.blobs.models import Blob, RepoBlob
from artifortress.blobs.store import (
    BlobInfo,
    BlobNotFound,
    BlobStore,
    Expectation,
    SizeMismatch,
)
from artifortress.db.base import UtcDateTime, utcnow
from artifortress.db.dialects import insert_for
from artifortress.errors import Conflict
from artifortress.rbac.permissions import Permission
from artifortress.rbac.services import permissions_on, readable_by_roles
from artifortress.repos.kinds import refuse_storage
from artifortress.repos.models import Repository
from artifortress.versions.queries import is_withheld


class BlobCollected(Conflict):
    """Garbage collection removed the bytes while they were being uploaded again."""

    code = "blob_collected"


#: How many candidate holders the dedupe check examines in full.
_HOLDER_CANDIDATES = 20


def end_transaction(db: Session) -> None:
    """Commit what the request did so far, before bytes flow.

    On SQLite every transaction holds the database's write lock, on
    PostgreSQL a pooled connection: neither may be held while a client
    trickles a gigabyte in.  The session stays usable; its next statement
    opens a new transaction, which the request middleware commits.
    """
    db.commit()


def _insert_ignoring_duplicates(db: Session, table: Table, **values: Any) -> None:
    db.execute(insert_for(db)(table).values(**values).on_conflict_do_nothing())


#: Every upload runs these (the blob, then its link): plain SQL that SQLite and
#: PostgreSQL both speak, built once. The dialects' ``insert ... on_conflict_do_nothing``
#: has no cache key, so SQLAlchemy compiled it anew on each call (about a third of
#: recording a blob; ``renderings.store._bump`` found the same).
_INSERT_BLOB = text(
    "INSERT INTO blobs (digest, size, created_at) VALUES (:digest, :size, :now) "
    "ON CONFLICT DO NOTHING"
).bindparams(bindparam("now", type_=UtcDateTime()))
_LINK_BLOB = text(
    "INSERT INTO repo_blobs (repository_id, digest, created_at) "
    "VALUES (:repository_id, :digest, :now) ON CONFLICT DO NOTHING"
).bindparams(bindparam("now", type_=UtcDateTime()))


def record_blob(db: Session, repo: Repository, info: BlobInfo, store: BlobStore) -> None:
    """Record verified bytes and link them to *repo* (idempotent, race-free).

    Garbage collection deletes a condemned blob's bytes under the row lock
    taken here; so if the row carries GC's marks, the bytes are checked under
    the lock and the marks cleared, or the upload is refused if the bytes went
    away meanwhile (a retry stores them again). A virtual repository holds no blobs: 405.
    """
    refuse_storage(repo.kind, repo.key)
    now = utcnow()
    db.execute(_INSERT_BLOB, {"digest": info.digest, "size": info.size, "now": now})
    blob = db.scalars(
        select(Blob)
        .where(Blob.digest == info.digest)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if blob.is_marked:
        if store.size_of(info.digest) != info.size:
            raise BlobCollected(
                f"blob {info.digest} was garbage-collected during the upload; send it again"
            )
        blob.condemned_at = blob.collected_at = None
    # A new link restarts GC's grace period: the client is about to use the blob
    # (add it to a draft), which an old unreferenced blob must survive.
    blob.created_at = now
    db.execute(_LINK_BLOB, {"repository_id": repo.id, "digest": info.digest, "now": now})


class Keyed(Protocol):
    """A repository as far as a lookup needs it: a ``Repository`` row or a ``RepoInfo``."""

    @property
    def id(self) -> int: ...
    @property
    def key(self) -> str: ...


def find_linked_blob(db: Session, repo: Keyed, digest: str) -> Blob:
    """The blob if *repo* holds it; 404 otherwise (whether or not others hold it).

    *repo* needs only its id and key: a download through the Gateway passes
    the ``RepoInfo`` it has, so no ``Repository`` row is loaded for it.
    """
    blob = db.scalars(
        select(Blob)
        .join(RepoBlob, RepoBlob.digest == Blob.digest)
        .where(RepoBlob.repository_id == repo.id, Blob.digest == digest)
    ).one_or_none()
    if blob is None:
        raise BlobNotFound(f"repository {repo.key!r} holds no blob {digest}")
    return blob


def any_blob(db: Session, digest: str) -> Blob | None:
    """The blob row of *digest*, whichever repositories hold it (no permission implied)."""
    return db.get(Blob, digest)


def readable_holder(
    db: Session, principal: Principal, digest: str, prefer: Repository
) -> Repository | None:
    """A repository holding *digest* that *principal* may read, or ``None``.

    The SQL narrows the candidates; the final word is ``permissions_on``, the
    same decision every download goes through.
    """
    stmt = (
        select(Repository)
        .join(RepoBlob, RepoBlob.repository_id == Repository.id)
        .where(RepoBlob.digest == digest, Repository.tenant_id == principal.tenant_id)
    )
    if not principal.is_admin:
        bound = readable_by_roles(principal.user_id) if principal.user_id is not None else None
        readable = Repository.id.in_(bound) if bound is not None else false()
        stmt = stmt.where(or_(Repository.public.is_(True), readable))
    if principal.repo_scopes is not None:
        stmt = stmt.where(Repository.key.in_(principal.repo_scopes))
    stmt = stmt.order_by((Repository.id == prefer.id).desc(), Repository.id)
    for candidate in db.scalars(stmt.limit(_HOLDER_CANDIDATES)):
        withheld = is_withheld(db, candidate.id, digest)  # quarantined or deleted there
        if not withheld and Permission.READ in permissions_on(db, principal, candidate):
            return candidate
    return None


def deduplicate(
    db: Session, caller: Caller, store: BlobStore, repo: Repository, digest: str, size: int
) -> BlobInfo | None:
    """Link an existing blob to *repo* if the caller may already read it somewhere.

    Returns ``None`` (upload normally) when the blob is unknown, the caller
    cannot read any repository holding it (a digest alone never grants
    bytes), or its object is not in the store (the upload then heals it).
    """
    blob = db.get(Blob, digest)
    if blob is None or blob.condemned_at is not None or blob.collected_at is not None:
        return None  # unknown, or being collected: upload the bytes again
    holder = readable_holder(db, caller.principal, digest, prefer=repo)
    if holder is None:
        return None
    if blob.size != size:
        raise SizeMismatch(
            f"size mismatch: expected {size} bytes, but blob {digest} has {blob.size}",
            expected=size,
            actual=blob.size,
        )
    if store.size_of(digest) != blob.size:
        # The row outlived its object (a lost or scrubbed-away file): take the
        # bytes, which heals the blob for every repository holding it.  A stat
        # or HEAD, never a read: the shortcut must stay cheap.
        return None
    info = BlobInfo(blob.digest, blob.size)
    record_blob(db, repo, info, store)
    changes.of(db).audit(
        caller,
        "upload.commit",
        repo_key=repo.key,
        target=digest,
        size=size,
        deduplicated=True,
        source_repo=holder.key,
    )
    return info


def ingest(
    db: Session,
    caller: Caller,
    store: BlobStore,
    repo: Repository,
    chunks: Iterable[bytes],
    expected: Expectation | None = None,
) -> BlobInfo:
    """Store bytes sent in one request into *repo*: hash while writing, verify, record.

    For format plugins.  It ends the request's current transaction first (see
    :func:`end_transaction`), so call it before making other changes; the blob
    row, the link and the audit entry join the next transaction, which the
    request commits.  On a mismatch (400) or an outage (503) nothing is stored.
    """
    end_transaction(db)
    info = store.write(chunks, expected or Expectation())
    record_blob(db, repo, info, store)
    changes.of(db).audit(
        caller, "blob.ingest", repo_key=repo.key, target=info.digest, size=info.size
    )
    return info


def blob_to_json(info: Blob | BlobInfo) -> dict[str, Any]:
    return {"digest": info.digest, "size": info.size, "sha256": hex_of(info.digest)}
