"""Everything the package page shows, read in a handful of bounded queries."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy.orm import Session

from artifortress.repos.views import RepoRef
from artifortress.ui import queries
from artifortress.ui.readme import readme_of
from artifortress.ui.snippets import Snippet, install_snippets
from artifortress.versions.labels import labels_of
from artifortress.versions.models import PUBLISHED, Package

#: Companion files (core metadata, provenance) are listed, but not as installables.
PROVENANCE = "provenance"


@dataclasses.dataclass(frozen=True)
class PackageView:
    name: str
    display_name: str
    format: str
    versions: Sequence[queries.VersionRow]
    #: The version shown (files, README, install commands); ``None``: none published.
    current: queries.VersionRow | None
    labels: dict[str, str]
    files: Sequence[queries.FileRow]
    readme: str
    summary: str
    snippets: Sequence[Snippet]
    has_provenance: bool
    #: The version asked for with ``?version=`` did not exist.
    missing_version: str | None
    #: ``repository / workflow`` of each signer whose attestation of a file verified.
    verified_provenance: Sequence[str] = ()


def package_view(
    db: Session,
    base_url: str,
    repo: RepoRef,
    package: Package,
    wanted: str | None,
    *,
    with_held: bool,
) -> PackageView:
    """The page of *package*, showing version *wanted* (else ``latest``, else the newest)."""
    versions = queries.version_rows(db, package.id, with_held=with_held)
    labels = labels_of(db, package)
    current = _pick(versions, wanted, labels.get("latest"))
    files = queries.files_of(db, current.id) if current else []
    metadata = queries.version_metadata(db, current.id) if current else {}
    summary = metadata.get("summary")
    installable = [f.filename for f in files if f.role is None]
    snippets = []
    if current is not None and current.state == PUBLISHED:
        paths = [f"{package.name}/{current.version}/{name}" for name in installable]
        name = package.display_name if repo.format == "npm" else package.name
        snippets = install_snippets(base_url, repo.format, repo.key, name, current.version, paths)
    return PackageView(
        name=package.name,
        display_name=package.display_name,
        format=repo.format,
        versions=versions,
        current=current,
        labels=labels,
        files=files,
        readme=readme_of(repo.format, metadata),
        summary=summary if isinstance(summary, str) else "",
        snippets=snippets,
        has_provenance=any(f.role == PROVENANCE for f in files),
        missing_version=wanted
        if wanted and (current is None or current.version != wanted)
        else None,
        verified_provenance=sorted({f.signer for f in files if f.signer}),
    )


def _pick(
    versions: Sequence[queries.VersionRow], wanted: str | None, latest: str | None
) -> queries.VersionRow | None:
    by_number = {v.version: v for v in versions}
    if wanted and wanted in by_number:
        return by_number[wanted]
    if latest and latest in by_number:
        return by_number[latest]
    published = [v for v in versions if v.state == PUBLISHED]
    return published[0] if published else (versions[0] if versions else None)
