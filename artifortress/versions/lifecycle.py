"""After publication: yank, deprecate, tombstone delete, restore, promote.

Only status flags, labels and the tombstone transition ever change on a
published version; the database triggers refuse anything else.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pluggy
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.auth.principal import Caller
from artifortress.blobs.models import RepoBlob
from artifortress.db.base import utcnow
from artifortress.errors import BadRequest, Conflict, Gone
from artifortress.policy import services as policy
from artifortress.repos.models import Repository
from artifortress.versions.drafts import get_or_create_package
from artifortress.versions.models import (
    DRAFT,
    PUBLISHED,
    QUARANTINED,
    TOMBSTONED,
    Artifact,
    Package,
    Version,
)


def _target(version: Version) -> str:
    return f"{version.package.name}@{version.version}"


def _record(db: Session, caller: Caller, action: str, version: Version, **details: Any) -> None:
    """Note, audit and emit a change to *version* (see ``changes.Change.version_changed``)."""
    repo = db.get(Repository, version.repository_id)
    assert repo is not None, f"the repository of version {version.id} vanished"
    changes.of(db).version_changed(caller, action, version, repo, **details)


def set_yanked(
    db: Session, caller: Caller, version: Version, yanked: bool, reason: str | None = None
) -> Version:
    """Yank (installers skip it unless pinned) or un-yank; reversible, audited."""
    version.yanked = yanked
    version.yank_reason = reason if yanked else None
    _record(db, caller, "version.yank" if yanked else "version.unyank", version, reason=reason)
    return version


def set_deprecated(db: Session, caller: Caller, version: Version, message: str | None) -> Version:
    """Deprecate with a message, or un-deprecate with ``None``; audited."""
    version.deprecated = message or None
    action = "version.deprecate" if message else "version.undeprecate"
    _record(db, caller, action, version, message=message)
    return version


def tombstone(db: Session, caller: Caller, version: Version) -> Version:
    """Delete tombstone-first: invisible to clients at once, restorable for a while."""
    if version.state != PUBLISHED:
        raise Conflict("only a published version can be deleted")
    version.state = TOMBSTONED
    version.tombstoned_at = utcnow()
    version.tombstoned_by = caller.principal.name
    _record(db, caller, "version.delete", version)
    return version


def restore(db: Session, caller: Caller, version: Version, retention_seconds: float) -> Version:
    """Bring a tombstoned version back, within the retention window."""
    if version.state != TOMBSTONED:
        raise Conflict("only a deleted version can be restored")
    deadline = (version.tombstoned_at or utcnow()) + dt.timedelta(seconds=retention_seconds)
    if version.purged_at is not None or deadline <= utcnow():
        raise Gone("the retention window of this deleted version has passed; it cannot be restored")
    version.state = PUBLISHED
    version.tombstoned_at = None
    version.tombstoned_by = None
    _record(db, caller, "version.restore", version)
    return version


def restore_cached(db: Session, caller: Caller, version: Version) -> Version:
    """Bring back a remote's deleted version: its file came from upstream again, identical.

    No retention applies (past it, the collector may have taken the bytes: the
    fetch that calls this has just stored them again); what was once served under
    the version is what it serves again, so its immutability holds.
    """
    if version.state != TOMBSTONED:
        raise Conflict("only a deleted version can be restored")
    version.state = PUBLISHED
    version.tombstoned_at = None
    version.tombstoned_by = None
    version.purged_at = None
    _record(db, caller, "version.restore", version, refetched=True)
    return version


def promote(
    db: Session,
    caller: Caller,
    source_repo: Repository,
    version: Version,
    target_repo: Repository,
    plugins: pluggy.PluginManager | None = None,
) -> Version:
    """Copy a published version into *target_repo* by reference (no bytes move); audited.

    The target's policies judge the copy as they judge a publish there
    (*plugins*: the app's plugin manager): a reject raises ``PolicyRejected``
    and copies nothing, a quarantine seals the copy as ``quarantined``,
    invisible until a tenant administrator releases it.  Otherwise promotion
    would launder a version the target refuses through a laxer repository.
    """
    _check_promotable(source_repo, target_repo)
    package = get_or_create_package(
        db, target_repo, version.package.name, version.package.display_name
    )
    if _exists_in(db, package, version.version):
        raise Conflict(f"{_target(version)} already exists in {target_repo.key}")
    copy = _draft_copy(db, caller, source_repo, version, package, target_repo)
    verdict = policy.evaluate(db, target_repo, copy, plugins)
    _seal(db, copy, QUARANTINED if policy.is_quarantined(verdict) else PUBLISHED, target_repo)
    if copy.state == QUARANTINED:
        policy.quarantine(db, caller, target_repo, copy, verdict)
        # Audited as a promotion too, but no event: receivers must not see it yet.
        changes.of(db).audit(
            caller,
            "version.promote",
            repo_key=target_repo.key,
            target=_target(copy),
            source=source_repo.key,
            quarantined=True,
        )
        return copy
    _record(db, caller, "version.promote", copy, source=source_repo.key)
    return copy


def _check_promotable(source_repo: Repository, target_repo: Repository) -> None:
    if target_repo.format != source_repo.format:
        raise BadRequest(
            f"cannot promote a {source_repo.format} version into {target_repo.format} "
            f"repository {target_repo.key}"
        )
    if target_repo.id == source_repo.id:
        raise BadRequest("source and target repository are the same")


def _draft_copy(
    db: Session,
    caller: Caller,
    source_repo: Repository,
    version: Version,
    package: Package,
    target_repo: Repository,
) -> Version:
    """The copy as a draft of the target, files and blob holds included, for the policies."""
    copy = Version(
        package=package,
        repository_id=target_repo.id,
        version=version.version,
        state=DRAFT,
        metadata_=dict(version.metadata_),
        created_by=caller.principal.name,
        promoted_from=f"{source_repo.key}/{_target(version)}",
    )
    for artifact in version.artifacts:
        copy.artifacts.append(_copy_artifact(artifact))
        _hold_blob(db, target_repo.id, artifact.digest)
    db.add(copy)
    db.flush()
    return copy


def _seal(db: Session, copy: Version, state: str, target_repo: Repository) -> None:
    """Seal the copy; a concurrent promotion or publish of the same number wins with 409."""
    try:
        with db.begin_nested():  # the partial unique index on sealed versions decides
            copy.state = state
            copy.published_at = utcnow()
            copy.published_by = copy.created_by
            db.flush()
    except IntegrityError:
        raise Conflict(f"{_target(copy)} already exists in {target_repo.key}") from None


def _exists_in(db: Session, package: Package, version: str) -> bool:
    """Whether the number is taken: published, deleted, held in quarantine or rejected."""
    return (
        db.scalars(
            select(Version.id).where(
                Version.package_id == package.id,
                Version.version == version,
                Version.state != DRAFT,
            )
        ).first()
        is not None
    )


def _copy_artifact(artifact: Artifact) -> Artifact:
    return Artifact(
        filename=artifact.filename,
        digest=artifact.digest,
        size=artifact.size,
        media_type=artifact.media_type,
        metadata_=dict(artifact.metadata_),
    )


def _hold_blob(db: Session, repository_id: int, digest: str) -> None:
    held = db.scalars(
        select(RepoBlob).where(RepoBlob.repository_id == repository_id, RepoBlob.digest == digest)
    ).first()
    if held is None:
        db.add(RepoBlob(repository_id=repository_id, digest=digest))
