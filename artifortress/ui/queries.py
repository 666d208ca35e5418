"""What the pages read: one query per table of a page, bounded by what the page shows.

The repository page reads one page of packages by the ``(repository_id, name)``
index (keyset pagination: never an offset, never a count of all packages),
and the newest published version of just those.  The package page reads the
columns of its versions without their files, and the files of one version.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from artifortress.rbac.models import Group, GroupMember, GroupRoleBinding, RoleBinding
from artifortress.repos.models import Repository
from artifortress.search.models import SearchDocument
from artifortress.versions.models import (
    PUBLISHED,
    QUARANTINED,
    TOMBSTONED,
    Artifact,
    Package,
    Version,
)


@dataclasses.dataclass(frozen=True)
class RepoStats:
    packages: int
    last_published: dt.datetime | None


def repo_stats(db: Session, repository_ids: Sequence[int]) -> dict[int, RepoStats]:
    """Live package count and last publication of each repository, by id."""
    if not repository_ids:
        return {}
    rows = db.execute(
        select(
            Version.repository_id,
            func.count(func.distinct(Version.package_id)),
            func.max(Version.published_at),
        )
        .where(Version.repository_id.in_(repository_ids), Version.state == PUBLISHED)
        .group_by(Version.repository_id)
    ).all()
    return {repo_id: RepoStats(count, last) for repo_id, count, last in rows}


@dataclasses.dataclass(frozen=True)
class PackageRow:
    name: str
    display_name: str
    version: str
    published_at: dt.datetime | None
    summary: str


def package_page(
    db: Session, repository_id: int, *, prefix: str, after: str | None, limit: int
) -> tuple[list[PackageRow], str | None]:
    """Packages with a published version, by name from *after*, starting with *prefix*.

    Returns the page and the name to continue after (``None`` on the last page).
    """
    newest = (
        select(Version.id)
        .where(Version.package_id == Package.id, Version.state == PUBLISHED)
        .order_by(Version.published_at.desc(), Version.id.desc())
        .limit(1)
        .correlate(Package)
        .scalar_subquery()
    )
    stmt = (
        select(
            Package.name,
            Package.display_name,
            Version.version,
            Version.published_at,
            SearchDocument.summary,
        )
        .select_from(Package)
        .join(Version, Version.id == newest)
        .outerjoin(SearchDocument, SearchDocument.package_id == Package.id)
        .where(Package.repository_id == repository_id)
    )
    if prefix:
        # A range on the (repository_id, name) index: "starts with", never a scan.
        stmt = stmt.where(Package.name >= prefix, Package.name < prefix + "\U0010ffff")
    if after:
        stmt = stmt.where(Package.name > after)
    rows = db.execute(stmt.order_by(Package.name).limit(limit + 1)).all()
    page = [PackageRow(n, d, v, p, s or "") for n, d, v, p, s in rows[:limit]]
    return page, page[-1].name if len(rows) > limit else None


@dataclasses.dataclass(frozen=True)
class VersionRow:
    id: int
    version: str
    state: str
    published_at: dt.datetime | None
    yanked: bool
    yank_reason: str | None
    deprecated: str | None


def version_rows(db: Session, package_id: int, *, with_held: bool) -> list[VersionRow]:
    """The package's versions, newest first, without files or metadata.

    Published ones, and with *with_held* also those held in quarantine.
    """
    states = (PUBLISHED, QUARANTINED) if with_held else (PUBLISHED,)
    rows = db.execute(
        select(
            Version.id,
            Version.version,
            Version.state,
            Version.published_at,
            Version.yanked,
            Version.yank_reason,
            Version.deprecated,
        )
        .where(Version.package_id == package_id, Version.state.in_(states))
        .order_by(Version.published_at.desc(), Version.id.desc())
    ).all()
    return [VersionRow(*row) for row in rows]


@dataclasses.dataclass(frozen=True)
class FileRow:
    filename: str
    digest: str
    size: int
    created_at: dt.datetime
    role: str | None
    #: The verified signer of the file's attestation (``Gateway.verify_attestation``).
    signer: str | None = None


def files_of(db: Session, version_id: int) -> list[FileRow]:
    rows = db.execute(
        select(
            Artifact.filename,
            Artifact.digest,
            Artifact.size,
            Artifact.created_at,
            Artifact.metadata_,
        )
        .where(Artifact.version_id == version_id)
        .order_by(Artifact.filename)
    ).all()
    return [FileRow(f, d, s, c, _role(meta), _signer(meta)) for f, d, s, c, meta in rows]


def _role(metadata: Any) -> str | None:
    role = metadata.get("role") if isinstance(metadata, dict) else None
    return role if isinstance(role, str) else None


def _signer(metadata: Any) -> str | None:
    """``repository / workflow`` of a verified attestation kept with the file, else None."""
    found = metadata.get("attestation") if isinstance(metadata, dict) else None
    if not isinstance(found, dict) or found.get("verified") is not True:
        return None
    identity = found.get("identity")
    if not isinstance(identity, dict):
        return None
    if identity.get("repository"):
        return f"{identity['repository']} / {identity.get('workflow') or '?'}"
    return str(identity.get("san") or identity.get("issuer") or "?")  # a person, not CI


def version_metadata(db: Session, version_id: int) -> dict[str, Any]:
    found = db.scalar(select(Version.metadata_).where(Version.id == version_id))
    return found if isinstance(found, dict) else {}


def find_package(db: Session, repository_id: int, name: str) -> Package | None:
    return db.scalars(
        select(Package).where(Package.repository_id == repository_id, Package.name == name)
    ).one_or_none()


@dataclasses.dataclass(frozen=True)
class RoleRow:
    repo: str
    role: str
    #: The group the role comes through; ``None``: bound to the user.
    via_group: str | None


def roles_of(db: Session, user_id: int) -> list[RoleRow]:
    """The user's roles on repositories, directly and through their groups, by repository."""
    direct = db.execute(
        select(Repository.key, RoleBinding.role)
        .join(Repository, Repository.id == RoleBinding.repository_id)
        .where(RoleBinding.user_id == user_id)
    ).all()
    grouped = db.execute(
        select(Repository.key, GroupRoleBinding.role, Group.name)
        .join(Repository, Repository.id == GroupRoleBinding.repository_id)
        .join(Group, Group.id == GroupRoleBinding.group_id)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.user_id == user_id)
    ).all()
    rows = [RoleRow(k, r, None) for k, r in direct] + [RoleRow(k, r, g) for k, r, g in grouped]
    return sorted(rows, key=lambda row: (row.repo, row.role, row.via_group or ""))


@dataclasses.dataclass(frozen=True)
class DeletedRow:
    package: str
    display_name: str
    version: str
    tombstoned_at: dt.datetime | None
    tombstoned_by: str | None


def deleted_versions(db: Session, repository_id: int, limit: int) -> list[DeletedRow]:
    """The repository's deleted versions not yet purged, most recently deleted first."""
    rows = db.execute(
        select(
            Package.name,
            Package.display_name,
            Version.version,
            Version.tombstoned_at,
            Version.tombstoned_by,
        )
        .join(Package, Package.id == Version.package_id)
        .where(
            Version.repository_id == repository_id,
            Version.state == TOMBSTONED,
            Version.purged_at.is_(None),
        )
        .order_by(Version.tombstoned_at.desc(), Version.id.desc())
        .limit(limit)
    ).all()
    return [DeletedRow(*row) for row in rows]
