"""Read-only views of packages, versions and files handed to plugins, policies and search.

Never ORM objects a plugin could mutate. They sit below the plugin API and the
policy and search planes, which build them from rows with :func:`version_info`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from artifortress.versions.models import Version


@dataclasses.dataclass(frozen=True)
class BlobRef:
    """A committed blob: ``sha256:<hex>`` digest and size."""

    digest: str
    size: int


@dataclasses.dataclass(frozen=True)
class NewFile:
    """A file to publish: a name bound to a committed blob, with format metadata.

    ``metadata`` may carry ``{"role": ...}`` for companion files (core
    metadata, provenance) that renderers show next to the file they describe.
    """

    filename: str
    blob: BlobRef
    media_type: str = "application/octet-stream"
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ArtifactInfo:
    filename: str
    digest: str
    size: int
    media_type: str
    metadata: Mapping[str, Any]
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class VersionInfo:
    package: str
    display_name: str
    version: str
    #: ``published`` or ``tombstoned`` (deleted, restorable within the retention);
    #: ``Gateway.publish`` answers ``quarantined`` when a policy held the version back.
    state: str
    metadata: Mapping[str, Any]
    published_at: dt.datetime | None
    published_by: str | None
    yanked: bool
    yank_reason: str | None
    deprecated: str | None
    tombstoned_at: dt.datetime | None
    artifacts: tuple[ArtifactInfo, ...]

    def artifact(self, filename: str) -> ArtifactInfo | None:
        return next((a for a in self.artifacts if a.filename == filename), None)


@dataclasses.dataclass(frozen=True)
class PackageInfo:
    name: str
    display_name: str


def version_info(version: Version) -> VersionInfo:
    return VersionInfo(
        package=version.package.name,
        display_name=version.package.display_name,
        version=version.version,
        state=version.state,
        metadata=version.metadata_,
        published_at=version.published_at,
        published_by=version.published_by,
        yanked=version.yanked,
        yank_reason=version.yank_reason,
        deprecated=version.deprecated,
        tombstoned_at=version.tombstoned_at,
        artifacts=tuple(
            ArtifactInfo(a.filename, a.digest, a.size, a.media_type, a.metadata_, a.created_at)
            for a in version.artifacts
        ),
    )
