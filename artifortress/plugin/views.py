"""Read-only views of core records handed to plugins (never ORM objects they could mutate)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any


@dataclasses.dataclass(frozen=True)
class RepoInfo:
    id: int
    key: str
    format: str
    public: bool
    description: str


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


@dataclasses.dataclass(frozen=True)
class TokenInfo:
    """A personal access token as its owner may see it (never the secret)."""

    id: str
    name: str
    read_only: bool
    repos: tuple[str, ...] | None
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked: bool
