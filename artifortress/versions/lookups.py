"""Questions a publish asks about a package's past, answered without reading that past.

"Was this file name ever used?" and "were these version numbers ever used?"
are index lookups here, so an upload into a package with thousands of
versions costs what an upload into a new one does.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from artifortress.versions.models import DRAFT, Artifact, Package, Version

#: Bound parameters per statement, well under every backend's limit.
_CHUNK = 500

#: Asked by every upload: built once (and run on the connection where no entity is loaded).
_HOLDERS = select(Artifact.version_id).where(Artifact.filename == bindparam("filename"))
_OLDEST_HOLDER = (
    select(Version)
    .join(Package, Package.id == Version.package_id)
    .where(
        Version.id.in_(bindparam("holders", expanding=True)),
        Package.repository_id == bindparam("repository_id"),
        Package.name == bindparam("package"),
        Version.state.in_(bindparam("states", expanding=True)),
    )
    .order_by(Version.published_at, Version.id)
    .limit(1)
)
_SEALED = (
    select(Version.version, Version.state)
    .join(Package, Package.id == Version.package_id)
    .where(
        Package.repository_id == bindparam("repository_id"),
        Package.name == bindparam("package"),
        Version.version.in_(bindparam("versions", expanding=True)),
        Version.state != DRAFT,
    )
)


def version_holding(
    db: Session, repository_id: int, package: str, filename: str, states: Collection[str]
) -> Version | None:
    """The oldest version of *package* in *states* that has a file named *filename*.

    Two steps, so that the file name's index drives the lookup whatever the
    package's history: joined in one statement, SQLite (without statistics)
    prefers to walk every version of the package. A new name, the common
    case, costs the first step only.
    """
    holders = db.connection().execute(_HOLDERS, {"filename": filename}).scalars().all()
    if not holders:
        return None
    params = {
        "holders": list(holders),
        "repository_id": repository_id,
        "package": package,
        "states": list(states),
    }
    return db.scalars(_OLDEST_HOLDER, params).first()


def sealed_states(
    db: Session, repository_id: int, package: str, versions: Collection[str]
) -> dict[str, str]:
    """``{version: state}`` for those of *versions* that were ever sealed (drafts never are).

    One index lookup per number asked about: the cost follows the question.
    """
    wanted = sorted(set(versions))
    found: dict[str, str] = {}
    params: dict[str, object] = {"repository_id": repository_id, "package": package}
    for start in range(0, len(wanted), _CHUNK):
        chunk = {**params, "versions": wanted[start : start + _CHUNK]}
        rows = db.connection().execute(_SEALED, chunk)
        found.update({version: state for version, state in rows})
    return found
