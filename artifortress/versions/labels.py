"""Labels: mutable names pointing at published versions (npm dist-tags)."""

from __future__ import annotations

import re

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.auth.principal import Caller
from artifortress.db.base import utcnow
from artifortress.errors import NotFound, ValidationFailed
from artifortress.outbox.events import LABEL_DELETED, LABEL_SET
from artifortress.repos.models import Repository
from artifortress.versions.models import PUBLISHED, Label, Package, Version

LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")


def labels_of(db: Session, package: Package) -> dict[str, str]:
    """``{label: version}`` for the labels that point at published versions."""
    rows = db.execute(
        select(Label.name, Version.version)
        .join(Version, Version.id == Label.version_id)
        .where(Label.package_id == package.id, Version.state == PUBLISHED)
        .order_by(Label.name)
    ).all()
    return {name: version for name, version in rows}


#: Read by every npm publish: built once.
_NAMED = (
    select(Label.name, Version.version)
    .join(Version, Version.id == Label.version_id)
    .join(Package, Package.id == Label.package_id)
    .where(
        Package.repository_id == bindparam("repository_id"),
        Package.name == bindparam("package"),
        Version.state == PUBLISHED,
    )
    .order_by(Label.name)
)
_LABEL_ROW = select(Label).where(
    Label.package_id == bindparam("package_id"), Label.name == bindparam("name")
)


def labels_named(db: Session, repository_id: int, package: str) -> dict[str, str]:
    """``labels_of`` the package *package* of the repository, in one query."""
    rows = db.connection().execute(_NAMED, {"repository_id": repository_id, "package": package})
    return {name: version for name, version in rows}


def set_label(db: Session, caller: Caller, version: Version, name: str) -> None:
    """Point label *name* at *version*; audited."""
    if not LABEL.fullmatch(name):  # match() would let a trailing newline through
        raise ValidationFailed(
            f"label {name!r} is invalid: start with a letter, then letters, digits, '.', '_', '-'"
        )
    label = _find(db, version.package_id, name)
    if label is None:
        db.add(Label(package_id=version.package_id, name=name, version_id=version.id))
    else:
        label.version_id = version.id
        label.updated_at = utcnow()
    repo = db.get(Repository, version.repository_id)
    assert repo is not None, f"the repository of version {version.id} vanished"
    change = changes.of(db)
    target = f"{version.package.name}:{name}"
    change.audit(caller, "label.set", repo_key=repo.key, target=target, version=version.version)
    change.version_event(LABEL_SET, version, repo, caller, label=name)


def delete_label(
    db: Session, caller: Caller, repo: Repository, package: Package, name: str
) -> None:
    label = _find(db, package.id, name)
    if label is None:
        raise NotFound(f"no label {name!r} on {package.name}")
    db.delete(label)
    change = changes.of(db)
    change.touch(repo.id, package.name)
    change.audit(caller, "label.delete", repo_key=repo.key, target=f"{package.name}:{name}")
    payload = {"repo": repo.key, "package": package.name, "package_id": package.id, "label": name}
    change.event(LABEL_DELETED, payload, tenant_id=repo.tenant_id, repo_key=repo.key)


def _find(db: Session, package_id: int, name: str) -> Label | None:
    return db.scalars(_LABEL_ROW, {"package_id": package_id, "name": name}).one_or_none()
