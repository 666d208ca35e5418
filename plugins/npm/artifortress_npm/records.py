"""From the core's versions to the pure modules' records and :class:`PackageState`.

Shared by ``stored`` (a package read whole) and ``pieces`` (a packument from
kept per-version pieces), so both see a package the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from artifortress.plugin import VersionInfo
from artifortress_npm.state import PackageState, VersionRecord

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def version_record(version: VersionInfo) -> VersionRecord:
    """The record of a live version, read from its metadata."""
    meta = version.metadata
    return VersionRecord(
        version=version.version,
        manifest=meta.get("manifest", {}),
        shasum=meta.get("shasum", ""),
        integrity=meta.get("integrity", ""),
        published=version.published_at or EPOCH,
        file_count=meta.get("file_count"),
        unpacked_size=meta.get("unpacked_size"),
        deprecated=version.deprecated,
        has_shrinkwrap=meta.get("has_shrinkwrap"),
        has_install_script=bool(meta.get("has_install_script")),
    )


def publisher(record: VersionRecord) -> dict[str, str] | None:
    """Who published the version (its manifest's ``_npmUser``), if recorded."""
    user = record.manifest.get("_npmUser")
    if isinstance(user, dict) and isinstance(user.get("name"), str):
        return {k: str(v) for k, v in user.items()}
    return None


def maintainers(publishers: Sequence[Mapping[str, str] | None]) -> list[dict[str, str]]:
    """Each publisher once, by name, in the order of the versions they published."""
    seen: dict[str, dict[str, str]] = {}
    for user in publishers:
        if user is not None:
            seen.setdefault(user["name"], dict(user))
    return list(seen.values())


def state_of(
    name: str,
    versions: Sequence[VersionInfo],
    tags: Mapping[str, str],
    records: Mapping[str, VersionRecord],
    latest: VersionInfo | None,
    publishers: Sequence[Mapping[str, str] | None],
) -> PackageState:
    """The package's state from all its *versions* (tombstoned too) and live *tags*.

    *records* holds the live versions; *latest* is the one whose readme the
    document shows, with its metadata.
    """
    gone = {v.version: v.published_at or EPOCH for v in versions if v.state != "published"}
    times = [t for v in versions for t in (v.published_at, v.tombstoned_at) if t is not None]
    return PackageState(
        name=name,
        versions=records,
        dist_tags=dict(tags),
        created=min(times, default=EPOCH),
        modified=max(times, default=EPOCH),
        revision=len(versions) + len(tags),
        unpublished=gone,
        maintainers=maintainers(publishers),
        readme=latest.metadata.get("readme", "") if latest else "",
        readme_filename=latest.metadata.get("readme_filename", "") if latest else "",
    )


def latest_of(live: Sequence[VersionInfo], tags: Mapping[str, str]) -> VersionInfo | None:
    """The version ``latest`` points to, else the last published."""
    return next((v for v in live if v.version == tags.get("latest")), live[-1] if live else None)
