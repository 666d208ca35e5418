"""Members of virtual repositories: order, flattening, cycles and the merge allow-list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from artifortress.errors import Conflict, ValidationFailed
from artifortress.repos.kinds import VIRTUAL
from artifortress.repos.models import Repository, RepositoryVirtual, VirtualMember
from artifortress.repos.views import RepoInfo

RepoLike = Repository | RepoInfo


def members_of(db: Session, repo: RepoLike) -> list[Repository]:
    """The direct members of virtual *repo*, in order ([] for other kinds)."""
    stmt = (
        select(Repository)
        .join(VirtualMember, VirtualMember.member_id == Repository.id)
        .where(VirtualMember.virtual_id == repo.id)
        .order_by(VirtualMember.position)
    )
    return list(db.scalars(stmt))


def flattened_members(db: Session, repo: RepoLike) -> list[Repository]:
    """The hosted and remote repositories behind *repo*, in lookup order.

    Virtual members are replaced by their own members, recursively; a repository
    reached twice counts at its first place. A non-virtual *repo* is its own member.
    """
    if repo.kind != VIRTUAL:
        return [repo if isinstance(repo, Repository) else _entity(db, repo)]
    found: dict[int, Repository] = {}
    _flatten(db, repo, found, visiting=set())
    return list(found.values())


def _flatten(db: Session, repo: RepoLike, found: dict[int, Repository], visiting: set[int]) -> None:
    visiting.add(repo.id)  # a cycle cannot be stored, but a loop here would never end
    for member in members_of(db, repo):
        if member.kind == VIRTUAL:
            if member.id not in visiting:
                _flatten(db, member, found, visiting)
        else:
            found.setdefault(member.id, member)


def merge_patterns(db: Session, repo: RepoLike) -> tuple[str, ...]:
    """Package name patterns (fnmatch) of virtual *repo* that merge despite a hosted claim."""
    row = db.get(RepositoryVirtual, repo.id)
    return tuple(row.merge_patterns) if row is not None else ()


def virtuals_containing(db: Session, repo: RepoLike) -> list[str]:
    """Keys of the virtual repositories *repo* is a direct member of."""
    stmt = (
        select(Repository.key)
        .join(VirtualMember, VirtualMember.virtual_id == Repository.id)
        .where(VirtualMember.member_id == repo.id)
        .order_by(Repository.key)
    )
    return list(db.scalars(stmt))


def refuse_if_member(db: Session, repo: RepoLike) -> None:
    """409 naming the virtuals that still list *repo*, which cannot then be deleted."""
    holders = virtuals_containing(db, repo)
    if holders:
        raise Conflict(
            f"repository {repo.key!r} is a member of virtual repository "
            f"{', '.join(repr(key) for key in holders)}; remove it from there first"
        )


def configure_virtual(
    db: Session,
    repo: Repository,
    members: Sequence[str] | None,
    patterns: Sequence[str] | None,
) -> dict[str, Any]:
    """Set *repo*'s members (by key, validated) and merge patterns; what changed, for audit."""
    changed: dict[str, Any] = {}
    row = db.get(RepositoryVirtual, repo.id)
    if row is None:
        row = RepositoryVirtual(repository_id=repo.id, merge_patterns=[])
        db.add(row)
    if members is not None:
        wanted = _resolve_members(db, repo, members)
        if [m.id for m in members_of(db, repo)] != [m.id for m in wanted]:
            _store_members(db, repo, wanted)
            changed["members"] = [m.key for m in wanted]
    if patterns is not None and len(set(patterns)) != len(patterns):
        raise ValidationFailed("merge_patterns lists a pattern twice")
    if patterns is not None and list(patterns) != list(row.merge_patterns):
        row.merge_patterns = changed["merge_patterns"] = list(patterns)
    return changed


def _resolve_members(db: Session, repo: Repository, keys: Sequence[str]) -> list[Repository]:
    """The repositories named by *keys*: existing, of *repo*'s format, listed once, no cycle."""
    if len(set(keys)) != len(keys):
        raise ValidationFailed("members lists a repository twice")
    stmt = select(Repository).where(
        Repository.tenant_id == repo.tenant_id, Repository.key.in_(keys)
    )
    by_key = {member.key: member for member in db.scalars(stmt)}
    missing = [key for key in keys if key not in by_key]
    if missing:
        raise ValidationFailed(f"no repository {', '.join(map(repr, missing))} to be a member")
    members = [by_key[key] for key in keys]
    for member in members:
        if member.format != repo.format:
            raise ValidationFailed(
                f"member {member.key!r} is a {member.format} repository; "
                f"virtual {repo.key!r} is {repo.format}: members must share its format"
            )
        if _reaches(db, member, repo.id):
            raise ValidationFailed(
                f"member {member.key!r} would make virtual {repo.key!r} contain itself"
            )
    return members


def _reaches(db: Session, start: Repository, target: int) -> bool:
    """Whether *target* is *start* or a (nested) member of it."""
    pending, seen = [start], set()
    while pending:
        current = pending.pop()
        if current.id == target:
            return True
        if current.id in seen or current.kind != VIRTUAL:
            continue
        seen.add(current.id)
        pending.extend(members_of(db, current))
    return False


def _store_members(db: Session, repo: Repository, members: Sequence[Repository]) -> None:
    db.execute(delete(VirtualMember).where(VirtualMember.virtual_id == repo.id))
    db.add_all(
        VirtualMember(virtual_id=repo.id, position=position, member_id=member.id)
        for position, member in enumerate(members)
    )
    db.flush()


def virtual_to_json(db: Session, repo: Repository) -> dict[str, Any]:
    """Members (direct, by key, in order) and merge patterns, as the API shows them."""
    return {
        "members": [member.key for member in members_of(db, repo)],
        "merge_patterns": list(merge_patterns(db, repo)),
    }


def _entity(db: Session, repo: RepoInfo) -> Repository:
    found = db.get(Repository, repo.id)
    if found is None:
        raise Conflict(f"repository {repo.key!r} was deleted meanwhile")
    return found
