"""From the core's versions to the index's files: what the simple pages and JSON API show."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from artifortress.plugin import ArtifactInfo, VersionInfo
from artifortress_pypi.metadata import CoreMetadata
from artifortress_pypi.pypi_json import Release
from artifortress_pypi.simple import API_VERSION, DistFile, ProjectPage

#: ``metadata["role"]`` of the companion files stored next to a distribution.
CORE_METADATA = "core-metadata"
PROVENANCE = "provenance"


#: The companions' suffixes: what a remote fetches of them carries no ``role``.
_COMPANION_SUFFIXES = (".metadata", ".provenance")
#: Files of the pages read that each process keeps (``RecentCache``): about 25 MiB.
#: Reading a 3,000-file PEP 691 page takes tens of milliseconds; remote and
#: virtual pages are built per request from such readings.
FILES_KEPT = 50_000


def is_distribution(artifact: ArtifactInfo) -> bool:
    return "role" not in artifact.metadata and not artifact.filename.endswith(_COMPANION_SUFFIXES)


def dist_file(version: VersionInfo, artifact: ArtifactInfo, files_url: str) -> DistFile:
    """One distribution as listed; *files_url* is the base its URLs hang from."""
    meta = artifact.metadata
    url = f"{files_url}{version.package}/{version.version}/{artifact.filename}"
    has_provenance = version.artifact(artifact.filename + ".provenance") is not None
    yanked: bool | str = (version.yank_reason or True) if version.yanked else False
    return DistFile(
        filename=artifact.filename,
        url=url,
        sha256=artifact.digest.removeprefix("sha256:"),
        size=artifact.size,
        upload_time=artifact.created_at,
        requires_python=meta.get("requires_python"),
        yanked=yanked,
        core_metadata_sha256=meta.get("core_metadata_sha256"),
        provenance_url=f"{url}.provenance" if has_provenance else None,
        md5=meta.get("md5"),
        blake2_256=meta.get("blake2_256"),
    )


def files_of(version: VersionInfo, files_url: str) -> list[DistFile]:
    return [dist_file(version, a, files_url) for a in version.artifacts if is_distribution(a)]


def project_page(name: str, versions: Sequence[VersionInfo], files_url: str) -> ProjectPage:
    files = [f for v in versions for f in files_of(v, files_url)]
    return ProjectPage(name=name, files=files, versions=[v.version for v in versions])


def release(version: VersionInfo, files_url: str) -> Release:
    return Release(version.version, files_of(version, files_url), core_metadata(version.metadata))


def core_metadata(stored: Any) -> CoreMetadata | None:
    """The CoreMetadata a version was published with (stored as a plain dict)."""
    try:
        return CoreMetadata(**dict(stored))
    except TypeError:
        return None


@dataclass(frozen=True, slots=True)
class Listing:
    """What one repository lists for a project: files (URLs relative to the page), versions,
    and when that last changed (the page's ``Last-Modified``)."""

    files: Sequence[DistFile]
    versions: Sequence[str]
    changed_at: datetime


def merged(listings: Iterable[Listing]) -> Listing:
    """Listings in order as one: the first listing of a filename wins, versions are united."""
    files: dict[str, DistFile] = {}
    versions: dict[str, None] = {}
    changed: list[datetime] = []
    for listing in listings:
        for file in listing.files:
            files.setdefault(file.filename, file)
        versions.update(dict.fromkeys(listing.versions))
        changed.append(listing.changed_at)
    return Listing(list(files.values()), list(versions), max(changed))


def page_of(name: str, listing: Listing) -> ProjectPage:
    """The project page of *listing*: API 1.0 when a file has no size (an HTML upstream)."""
    sized = all(file.size is not None for file in listing.files)
    return ProjectPage(name, listing.files, listing.versions, API_VERSION if sized else "1.0")
