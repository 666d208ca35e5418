"""Repository lifecycle: create, look up, list what a caller may read, change, delete."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.auth.principal import Caller, Principal
from artifortress.db.base import utcnow
from artifortress.errors import BadRequest, Conflict, NotFound, ValidationFailed
from artifortress.outbox import events
from artifortress.pagination import decode_str_cursor, encode_cursor
from artifortress.rbac.services import readable_repo_ids
from artifortress.repos.models import Repository
from artifortress.repos.views import RepoInfo, RepoRef

REPO_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
#: Fields ``PATCH /v1/repos/{repo}`` may change; key and format are identity.
MUTABLE_FIELDS = ("public", "description")


def check_key(key: str) -> str:
    # fullmatch: with match, "$" also matches before a trailing newline ("libs\n"),
    # and so does the schema's pattern under Python's re; this is the real check.
    if not REPO_KEY.fullmatch(key):
        raise ValidationFailed(
            f"repository key {key!r} is invalid: use 1-64 lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )
    return key


#: Built once: every request looks its repository up, and a prebuilt statement
#: skips rebuilding the query and recomputing SQLAlchemy's cache key each time.
_FIND_REPO = select(Repository).where(
    Repository.tenant_id == bindparam("tenant_id"), Repository.key == bindparam("key")
)


def find_repo(db: Session, tenant_id: int, key: str) -> Repository | None:
    return db.scalars(_FIND_REPO, {"tenant_id": tenant_id, "key": key}).one_or_none()


_LOOKUP_REPO = select(
    Repository.id,
    Repository.tenant_id,
    Repository.key,
    Repository.format,
    Repository.public,
    Repository.description,
    Repository.kind,
).where(Repository.tenant_id == bindparam("tenant_id"), Repository.key == bindparam("key"))


def lookup_repo(db: Session, tenant_id: int, key: str) -> RepoRef | None:
    """Repository *key* of the tenant as a :class:`RepoRef`, or ``None``."""
    row = db.connection().execute(_LOOKUP_REPO, {"tenant_id": tenant_id, "key": key}).first()
    return RepoRef(*row) if row is not None else None


def entity_of(db: Session, ref: RepoRef | RepoInfo) -> Repository:
    """The entity behind *ref*; 404 if it was deleted since *ref* was read."""
    found = db.get(Repository, ref.id)
    if found is None:
        raise NotFound(f"no repository {ref.key!r}")
    return found


def get_repo(db: Session, tenant_id: int, key: str) -> Repository:
    repo = find_repo(db, tenant_id, key)
    if repo is None:
        raise NotFound(f"no repository {key!r}")
    return repo


def create_repo(
    db: Session,
    caller: Caller,
    known_formats: Collection[str],
    *,
    key: str,
    format: str,
    public: bool = False,
    description: str = "",
) -> Repository:
    """Create a repository of an installed format; 409 if the key is taken."""
    check_key(key)
    if format not in known_formats:
        raise BadRequest(
            f"no installed plugin provides format {format!r}; installed: "
            f"{', '.join(sorted(known_formats)) or 'none'} (see `artifortress plugins`)"
        )
    tenant_id = caller.principal.tenant_id
    if find_repo(db, tenant_id, key) is not None:
        raise Conflict(f"repository {key!r} already exists")
    repo = Repository(
        tenant_id=tenant_id, key=key, format=format, public=public, description=description
    )
    db.add(repo)
    db.flush()
    change = changes.of(db)
    change.audit(caller, "repo.create", repo_key=key, format=format, public=public)
    change.event(events.REPOSITORY_CREATED, _payload(repo), tenant_id=tenant_id, repo_key=key)
    return repo


def update_repo(
    db: Session, caller: Caller, repo: Repository, fields: dict[str, Any]
) -> Repository:
    """Apply a PATCH of the mutable *fields*; audited with the changed values."""
    changed = {k: v for k, v in fields.items() if getattr(repo, k) != v}
    for name, value in changed.items():
        setattr(repo, name, value)
    if changed:
        repo.updated_at = utcnow()
    change = changes.of(db)
    change.audit(caller, "repo.update", repo_key=repo.key, changes=changed)
    if changed:
        change.event(
            events.REPOSITORY_UPDATED,
            _payload(repo, changes=changed),
            tenant_id=repo.tenant_id,
            repo_key=repo.key,
        )
    return repo


def delete_repo(db: Session, caller: Caller, repo: Repository) -> None:
    """Delete an empty repository (bindings and unfinished uploads go with it); audited.

    Package versions and drafts keep a repository alive: they are deleted
    tombstone-first by their own plane, so the database refuses the delete.
    That refusal is a 409 saying what to do, not a "concurrent change".
    """
    try:
        with db.begin_nested():
            db.delete(repo)
            db.flush()
    except IntegrityError:
        raise Conflict(
            f"repository {repo.key!r} still holds package versions or drafts; delete those first"
        ) from None
    change = changes.of(db)
    change.audit(caller, "repo.delete", repo_key=repo.key, format=repo.format)
    payload = _payload(repo)
    change.event(events.REPOSITORY_DELETED, payload, tenant_id=repo.tenant_id, repo_key=repo.key)


def _payload(repo: Repository, **details: Any) -> dict[str, Any]:
    """What repository events carry."""
    return {
        "repo": repo.key,
        "repository_id": repo.id,
        "format": repo.format,
        "public": repo.public,
        **details,
    }


def list_readable(
    db: Session, principal: Principal, *, cursor: str | None, limit: int
) -> tuple[Sequence[Repository], str | None]:
    """Repositories the principal may read, by key, one page at a time."""
    stmt = select(Repository).where(Repository.tenant_id == principal.tenant_id)
    bound = readable_repo_ids(db, principal)
    if bound is not None:
        stmt = stmt.where(or_(Repository.public.is_(True), Repository.id.in_(bound)))
    if principal.repo_scopes is not None:
        stmt = stmt.where(Repository.key.in_(principal.repo_scopes))
    if cursor is not None:
        stmt = stmt.where(Repository.key > _cursor_key(cursor))
    rows = db.scalars(stmt.order_by(Repository.key).limit(limit + 1)).all()
    next_cursor = encode_cursor(rows[limit - 1].key) if len(rows) > limit else None
    return rows[:limit], next_cursor


def _cursor_key(cursor: str) -> str:
    # Cursors carry a repository key; anything else is forged (and a NUL in it
    # would be a 500 on PostgreSQL).
    key = decode_str_cursor(cursor)
    if not REPO_KEY.fullmatch(key):
        raise BadRequest(f"cursor {cursor!r} is not one this API handed out")
    return key


def repo_to_json(repo: Repository) -> dict[str, Any]:
    return {
        "key": repo.key,
        "format": repo.format,
        "public": repo.public,
        "description": repo.description,
        "created_at": repo.created_at.isoformat(),
        "updated_at": repo.updated_at.isoformat(),
    }
