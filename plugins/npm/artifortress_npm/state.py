"""Plain data describing a stored npm package: what the packument is built from.

The core stores these however it likes (rows, JSON); the pure modules only read them.
Datetimes must be timezone-aware (UTC).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class VersionRecord:
    """One published (live) version.

    ``manifest`` is the normalized version manifest (``manifest.normalize_version_manifest``):
    no ``dist``, no ``_id``, no readme; the server-computed facts are separate fields.
    """

    version: str
    manifest: Mapping[str, Any]
    shasum: str
    integrity: str
    published: datetime
    file_count: int | None = None
    unpacked_size: int | None = None
    deprecated: str | None = None
    has_shrinkwrap: bool | None = None
    has_install_script: bool = False


@dataclass(frozen=True)
class PackageState:
    """A package as the registry knows it after its latest change.

    ``versions`` maps version -> record for live versions; ``unpublished`` maps each
    version that was unpublished to its original publish time, so ``time`` keeps it and
    the number is never reused. ``revision`` counts changes (it becomes ``_rev``).
    ``readme``/``readme_filename`` are those of the version ``latest`` points to.
    """

    name: str
    versions: Mapping[str, VersionRecord]
    dist_tags: Mapping[str, str]
    created: datetime
    modified: datetime
    revision: int = 1
    unpublished: Mapping[str, datetime] = field(default_factory=dict)
    maintainers: Sequence[Mapping[str, str]] = ()
    readme: str = ""
    readme_filename: str = ""

    def all_version_numbers(self) -> set[str]:
        """Return every version number ever used: live and unpublished."""
        return set(self.versions) | set(self.unpublished)
