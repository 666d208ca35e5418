"""From the core's versions to the index's files: what the simple pages and JSON API show."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from artifortress.plugin import ArtifactInfo, VersionInfo
from artifortress_pypi.metadata import CoreMetadata
from artifortress_pypi.pypi_json import Release
from artifortress_pypi.simple import DistFile, ProjectPage

#: ``metadata["role"]`` of the companion files stored next to a distribution.
CORE_METADATA = "core-metadata"
PROVENANCE = "provenance"


def is_distribution(artifact: ArtifactInfo) -> bool:
    return "role" not in artifact.metadata


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
