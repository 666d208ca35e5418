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
from artifortress.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from artifortress.outbox import events
from artifortress.pagination import decode_str_cursor, encode_cursor
from artifortress.rbac.permissions import Permission
from artifortress.rbac.services import permissions_on, readable_repo_ids
from artifortress.repos import layouts
from artifortress.repos.kinds import HOSTED, KINDS, REMOTE, VIRTUAL
from artifortress.repos.models import Repository, RepositoryUpstream
from artifortress.repos.upstreams import as_base, check_url, configure_upstream, upstream_to_json
from artifortress.repos.views import RepoInfo, RepoRef
from artifortress.repos.virtuals import (
    configure_virtual,
    members_of,
    refuse_if_member,
    virtual_to_json,
)

REPO_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
#: Fields ``PATCH /v1/repos/{repo}`` may change; key, format and kind are identity.
MUTABLE_FIELDS = ("public", "description")
#: Fields that configure a repository of each kind (on create and PATCH).
_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    HOSTED: (),
    REMOTE: ("upstream", "metadata_ttl"),
    VIRTUAL: ("members", "merge_patterns"),
}


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
    kind: str = HOSTED,
    **kind_fields: Any,
) -> Repository:
    """Create a repository of an installed format; 409 if the key is taken.

    *kind_fields* configure a remote (``upstream``, ``metadata_ttl``) or a
    virtual (``members``, ``merge_patterns``); 400 for those of another kind.
    """
    check_key(key)
    _check_format(format, known_formats)
    if kind not in KINDS:
        raise ValidationFailed(f"kind {kind!r} is unknown: use one of {', '.join(KINDS)}")
    tenant_id = caller.principal.tenant_id
    if find_repo(db, tenant_id, key) is not None:
        raise Conflict(f"repository {key!r} already exists")
    repo = Repository(
        tenant_id=tenant_id,
        key=key,
        format=format,
        public=public,
        description=description,
        kind=kind,
    )
    db.add(repo)
    db.flush()
    configured = configure_kind(db, repo, kind_fields)
    if kind != HOSTED:  # a hosted repository's row reads as before kinds existed
        configured = {"kind": kind, **configured}
    change = changes.of(db)
    change.audit(caller, "repo.create", repo_key=key, format=format, public=public, **configured)
    change.event(events.REPOSITORY_CREATED, _payload(repo), tenant_id=tenant_id, repo_key=key)
    return repo


def _check_format(format: str, known_formats: Collection[str]) -> None:
    if format not in known_formats:
        raise BadRequest(
            f"no installed plugin provides format {format!r}; installed: "
            f"{', '.join(sorted(known_formats)) or 'none'} (see `artifortress plugins`)"
        )


def configure_kind(db: Session, repo: Repository, fields: dict[str, Any]) -> dict[str, Any]:
    """Apply the fields of *repo*'s kind; what changed (for audit, never a password)."""
    stray = sorted(set(fields) - set(_KIND_FIELDS[repo.kind]))
    if stray:
        raise ValidationFailed(f"{', '.join(stray)}: not for a {repo.kind} repository")
    if repo.kind == REMOTE:
        return configure_upstream(db, repo, fields.get("upstream", {}), fields.get("metadata_ttl"))
    if repo.kind == VIRTUAL:
        return configure_virtual(db, repo, fields.get("members"), fields.get("merge_patterns"))
    return {}


def update_repo(
    db: Session, caller: Caller, repo: Repository, fields: dict[str, Any]
) -> Repository:
    """Apply a PATCH of the mutable *fields*; audited with the changed values."""
    own = {k: v for k, v in fields.items() if k in MUTABLE_FIELDS}
    if repo.kind == VIRTUAL and isinstance(fields.get("members"), list):
        _refuse_unreadable_members(db, caller.principal, repo, fields["members"])
    if repo.kind == REMOTE and not caller.principal.is_tenant_admin:
        _refuse_moving_the_upstream(db, repo, fields.get("upstream"))
    changed = {k: v for k, v in own.items() if getattr(repo, k) != v}
    for name, value in changed.items():
        setattr(repo, name, value)
    changed.update(configure_kind(db, repo, {k: fields[k] for k in fields.keys() - own.keys()}))
    if changed:
        repo.updated_at = utcnow()
        layouts.changed(db)
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


def _refuse_unreadable_members(
    db: Session, principal: Principal, repo: Repository, keys: Sequence[str]
) -> None:
    """A repository administrator adds to a virtual only repositories they may read.

    A member they may not read would still answer for its names through the
    dependency-confusion guard (a name it has is never fetched upstream: an
    oracle of what it holds) and could no longer be deleted; so it is refused
    as an unknown one is, saying nothing of its existence. Members already
    listed may stay and move.
    """
    listed = {member.key for member in members_of(db, repo)}
    for key in keys:
        member = None if key in listed else find_repo(db, repo.tenant_id, key)
        if member is not None and Permission.READ not in permissions_on(db, principal, member):
            raise ValidationFailed(f"no repository {key!r} to be a member")


def _refuse_moving_the_upstream(db: Session, repo: Repository, upstream: Any) -> None:
    """403 unless the URL stays: where a remote connects is a tenant administrator's choice.

    The gateway connects wherever the URL says, inside its own network too,
    and serves back what it reads there; a repository administrator keeps the
    rest (credentials, TTL), as creating a remote is a tenant administrator's.
    """
    if not isinstance(upstream, dict) or "url" not in upstream:
        return
    row = db.get(RepositoryUpstream, repo.id)
    if row is None or check_url(str(upstream["url"])) != as_base(row.url):
        raise PermissionDenied(
            f"only tenant administrators may change where remote repository {repo.key!r} "
            "connects (upstream.url)"
        )


def delete_repo(db: Session, caller: Caller, repo: Repository) -> None:
    """Delete an empty repository (bindings and unfinished uploads go with it); audited.

    A member of a virtual repository is refused (409 naming the virtual): it
    must leave the virtual first, so a virtual never loses a member silently.

    Package versions and drafts keep a repository alive: they are deleted
    tombstone-first by their own plane, so the database refuses the delete.
    That refusal is a 409 saying what to do, not a "concurrent change".
    """
    refuse_if_member(db, repo)
    try:
        with db.begin_nested():
            db.delete(repo)
            db.flush()
    except IntegrityError:
        raise Conflict(
            f"repository {repo.key!r} still holds package versions or drafts; delete those first"
        ) from None
    layouts.changed(db)
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
        "kind": repo.kind,
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
    """A repository as lists show it."""
    return {
        "key": repo.key,
        "format": repo.format,
        "kind": repo.kind,
        "public": repo.public,
        "description": repo.description,
        "created_at": repo.created_at.isoformat(),
        "updated_at": repo.updated_at.isoformat(),
    }


def repo_detail_json(
    db: Session, repo: Repository, viewer: Principal | None = None
) -> dict[str, Any]:
    """One repository with what its kind adds: upstream (never its password) or members.

    With a *viewer*, a virtual's members are those the viewer may read: its
    readers learn nothing of a member they cannot read, not even its key.
    """
    doc = repo_to_json(repo)
    if repo.kind == REMOTE:
        doc.update(upstream_to_json(db, repo))
    elif repo.kind == VIRTUAL:
        doc.update(virtual_to_json(db, repo))
        if viewer is not None:
            readable = {m.key for m in members_of(db, repo) if _may_read(db, viewer, m)}
            doc["members"] = [key for key in doc["members"] if key in readable]
    return doc


def _may_read(db: Session, principal: Principal, repo: Repository) -> bool:
    return Permission.READ in permissions_on(db, principal, repo)
