"""Reading packages and versions as clients see them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, Integer, Select, bindparam, exists, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Exists

from artifortress.blobs.models import Blob
from artifortress.db.base import iso
from artifortress.db.pooled import PooledRead
from artifortress.errors import NotFound
from artifortress.pagination import decode_str_cursor, encode_cursor
from artifortress.repos.models import Repository
from artifortress.repos.views import RepoInfo
from artifortress.versions.models import (
    PUBLISHED,
    QUARANTINED,
    REJECTED,
    TOMBSTONED,
    Artifact,
    Package,
    Version,
)


def _live_packages(repository_id: int) -> Select[Package]:
    """Packages with at least one published version."""
    live = select(Version.package_id).where(
        Version.repository_id == repository_id, Version.state == PUBLISHED
    )
    return select(Package).where(Package.repository_id == repository_id, Package.id.in_(live))


def list_packages(
    db: Session, repo: Repository, *, cursor: str | None, limit: int
) -> tuple[Sequence[Package], str | None]:
    """Packages with at least one published version, by name."""
    stmt = _live_packages(repo.id)
    if cursor is not None:
        stmt = stmt.where(Package.name > decode_str_cursor(cursor))
    rows = db.scalars(stmt.order_by(Package.name).limit(limit + 1)).all()
    return rows[:limit], encode_cursor(rows[limit - 1].name) if len(rows) > limit else None


def live_packages(db: Session, repository_id: int) -> Sequence[Package]:
    """Every package with at least one published version, by name."""
    return db.scalars(_live_packages(repository_id).order_by(Package.name)).all()


#: The states of a version whose package name stays claimed: every sealed one.
_CLAIMING = (PUBLISHED, QUARANTINED, TOMBSTONED, REJECTED)


#: Asked for every package a virtual repository serves: built once, run on the connection.
_ANY_CLAIMS = (
    select(Version.id)
    .join(Package, Package.id == Version.package_id)
    .where(
        Package.repository_id.in_(bindparam("repository_ids", expanding=True)),
        Package.name == bindparam("name"),
        Version.state.in_(_CLAIMING),
    )
    .limit(1)
)


def any_claims(db: Session, repository_ids: Sequence[int], name: str) -> bool:
    """Whether package *name* (normalized) has a sealed version in any of the repositories.

    Published, but also held in quarantine, rejected or deleted: a private
    name whose only version is held or was deleted is still private, so the
    dependency-confusion guard must not hand it to an upstream. Drafts claim
    nothing (an upload that never completes leaves no name behind).
    """
    if not repository_ids:
        return False
    params = {"repository_ids": list(repository_ids), "name": name}
    return db.connection().execute(_ANY_CLAIMS, params).first() is not None


class ClaimReader:
    """:func:`any_claims` on a pooled connection, outside any session (see ``db.pooled``).

    A warm read through a virtual repository asks it on every request; in a
    session, the session's begin and commit cost more than the statement. One
    statement per number of repositories asked about, compiled once.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reads: dict[int, PooledRead] = {}

    def any_claims(self, repository_ids: Sequence[int], name: str) -> bool:
        """Whether package *name* (normalized) has a sealed version in any of the repositories."""
        if not repository_ids:
            return False
        read = self._reads.get(len(repository_ids))
        if read is None:
            read = self._reads[len(repository_ids)] = PooledRead(
                self._engine, _claims_among(len(repository_ids))
            )
        params = {f"repository_id_{n}": id_ for n, id_ in enumerate(repository_ids)}
        return read.first(name=name, **params) is not None


def _claims_among(count: int) -> Select[int]:
    """:data:`_ANY_CLAIMS` for *count* repositories, each its own parameter (no expanding IN)."""
    ids = [bindparam(f"repository_id_{n}", type_=Integer()) for n in range(count)]
    return (
        select(Version.id)
        .join(Package, Package.id == Version.package_id)
        .where(
            Package.repository_id.in_(ids),
            Package.name == bindparam("name"),
            or_(*(Version.state == state for state in _CLAIMING)),
        )
        .limit(1)
    )


def find_package(db: Session, repository_id: int, name: str) -> Package | None:
    return db.scalars(
        select(Package).where(Package.repository_id == repository_id, Package.name == name)
    ).one_or_none()


def lock_package(db: Session, repository_id: int, name: str) -> None:
    """Hold package *name* against concurrent lockers until the transaction ends.

    PostgreSQL: its row ``FOR UPDATE``. SQLite ignores the clause: a write
    transaction there (``BEGIN IMMEDIATE``) already holds every writer off.
    """
    db.execute(
        select(Package.id)
        .where(Package.repository_id == repository_id, Package.name == name)
        .with_for_update()
    )


def get_package(db: Session, repo: Repository | RepoInfo, name: str) -> Package:
    package = find_package(db, repo.id, name)
    if package is None:
        raise NotFound(f"no package {name!r} in {repo.key}")
    return package


def versions_of(
    db: Session, package: Package, states: tuple[str, ...] = (PUBLISHED,)
) -> Sequence[Version]:
    """The package's versions in the given states, oldest publication first."""
    return db.scalars(
        select(Version)
        .where(Version.package_id == package.id, Version.state.in_(states))
        .order_by(Version.published_at, Version.id)
    ).all()


#: A version without its metadata and files: what listing a long history needs.
_LIGHT_COLUMNS = (
    Version.version,
    Version.state,
    Version.published_at,
    Version.published_by,
    Version.yanked,
    Version.yank_reason,
    Version.deprecated,
    Version.tombstoned_at,
)


def light_versions_of(
    db: Session, package: Package, states: tuple[str, ...] = (PUBLISHED,)
) -> Sequence[Any]:
    """:func:`versions_of` without metadata or files: rows of ``_LIGHT_COLUMNS``, no ORM.

    Loading and decoding every version's metadata (and its files) made a
    packument of 500 versions cost 50 ms to build; a published version's
    metadata never changes (the database refuses it), so a caller that kept
    what it derived from it needs only these columns.
    """
    return db.execute(
        select(*_LIGHT_COLUMNS)
        .where(Version.package_id == package.id, Version.state.in_(states))
        .order_by(Version.published_at, Version.id)
    ).all()


def find_version(
    db: Session,
    repository_id: int,
    package: str,
    version: str,
    states: tuple[str, ...] = (PUBLISHED,),
) -> Version | None:
    """One version of a package in the repository if it is in one of *states*."""
    return db.scalars(
        select(Version)
        .join(Package)
        .where(
            Package.repository_id == repository_id,
            Package.name == package,
            Version.version == version,
            Version.state.in_(states),
        )
    ).one_or_none()


def get_version(
    db: Session,
    repo: Repository | RepoInfo,
    package: str,
    version: str,
    states: tuple[str, ...] = (PUBLISHED,),
) -> Version:
    """One version of a package in *repo*; 404 unless it is in one of *states*."""
    found = find_version(db, repo.id, package, version, states)
    if found is None:
        raise NotFound(f"no version {version!r} of {package!r} in {repo.key}")
    return found


@dataclasses.dataclass(frozen=True, slots=True)
class PublishedFile:
    """A downloadable file: what answering a GET for it needs, read as one row."""

    digest: str
    size: int
    media_type: str
    #: When the bytes were first stored: the download's Last-Modified.
    created_at: dt.datetime


#: Every download asks it: built once, and read without the ORM.
PUBLISHED_FILE = (
    select(Artifact.digest, Blob.size, Artifact.media_type, Blob.created_at)
    .join(Version, Artifact.version_id == Version.id)
    .join(Package, Version.package_id == Package.id)
    .join(Blob, Blob.digest == Artifact.digest)
    .where(
        # The package's repository, not the version's (the same value): so the
        # lookup starts from the package's unique (repository, name) index, then
        # (package, version). Filtering versions by repository let SQLite walk
        # every published version of the repository on each download.
        Package.repository_id == bindparam("repository_id"),
        Package.name == bindparam("package"),
        Version.version == bindparam("version"),
        Version.state == PUBLISHED,
        Artifact.filename == bindparam("filename"),
        # Bytes the collector took (a remote's purged file whose version came
        # back) are fetched again, not served.
        Blob.collected_at.is_(None),
    )
)


def published_file(
    db: Session, repository_id: int, package: str, version: str, filename: str
) -> PublishedFile | None:
    """File *filename* of a published version in the repository with its bytes, or ``None``."""
    params = {
        "repository_id": repository_id,
        "package": package,
        "version": version,
        "filename": filename,
    }
    row = db.connection().execute(PUBLISHED_FILE, params).first()
    return PublishedFile(*row) if row is not None else None


def tombstoned_version(
    db: Session, repo: Repository | RepoInfo, package: str, version: str
) -> Version:
    return get_version(db, repo, package, version, states=(TOMBSTONED,))


def artifact_to_json(artifact: Artifact) -> dict[str, Any]:
    return {
        "filename": artifact.filename,
        "digest": artifact.digest,
        "size": artifact.size,
        "media_type": artifact.media_type,
        "metadata": artifact.metadata_,
        "created_at": artifact.created_at.isoformat(),
    }


def version_to_json(version: Version) -> dict[str, Any]:
    return {
        "id": version.id,
        "package": version.package.name,
        "display_name": version.package.display_name,
        "version": version.version,
        "state": version.state,
        "metadata": version.metadata_,
        "created_by": version.created_by,
        "created_at": iso(version.created_at),
        "expires_at": iso(version.expires_at),
        "published_at": iso(version.published_at),
        "published_by": version.published_by,
        "yanked": version.yanked,
        "yank_reason": version.yank_reason,
        "deprecated": version.deprecated,
        "tombstoned_at": iso(version.tombstoned_at),
        "promoted_from": version.promoted_from,
        "artifacts": [artifact_to_json(a) for a in version.artifacts],
    }


def package_to_json(package: Package) -> dict[str, Any]:
    return {
        "name": package.name,
        "display_name": package.display_name,
        "format": package.format,
        "created_at": package.created_at.isoformat(),
    }


def is_withheld(db: Session, repository_id: int, digest: str) -> bool:
    """True when *digest* belongs here only to versions clients must not see.

    Quarantined, rejected and deleted (tombstoned) versions: their bytes are
    not downloadable, not even by digest through the blob API, nor obtainable
    through the upload dedupe shortcut, unless a published version here uses
    the same bytes.
    """

    def used_by(states: tuple[str, ...]) -> Exists:
        return exists(
            select(Artifact.id)
            .join(Version, Version.id == Artifact.version_id)
            .where(
                Artifact.digest == digest,
                Version.repository_id == repository_id,
                Version.state.in_(states),
            )
        )

    held = db.scalar(select(used_by((QUARANTINED, REJECTED, TOMBSTONED))))
    return bool(held) and not db.scalar(select(used_by((PUBLISHED,))))
