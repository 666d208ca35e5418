"""How npm packages live in the core: a version's metadata holds its record, labels are dist-tags.

``load_state`` rebuilds the pure modules' :class:`PackageState` from the core's
versions (tombstoned ones become ``unpublished``, keeping their time so the
number is never reused) and labels.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from artifortress.plugin import Gateway, NotFound, Rendered, RepoInfo, VersionInfo
from artifortress_npm.manifest import NormalizedVersion
from artifortress_npm.packument import (
    ABBREVIATED_MEDIA_TYPE,
    BASE_PLACEHOLDER,
    FULL_MEDIA_TYPE,
    build_packument,
)
from artifortress_npm.state import PackageState, VersionRecord

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def record_metadata(record: VersionRecord, normalized: NormalizedVersion) -> dict[str, Any]:
    """What a published version stores as its metadata (JSON)."""
    return {
        "manifest": dict(record.manifest),
        "shasum": record.shasum,
        "integrity": record.integrity,
        "file_count": record.file_count,
        "unpacked_size": record.unpacked_size,
        "has_shrinkwrap": record.has_shrinkwrap,
        "has_install_script": record.has_install_script,
        "readme": normalized.readme,
        "readme_filename": normalized.readme_filename,
        # Fields the core's search index reads.
        "summary": record.manifest.get("description"),
        "keywords": record.manifest.get("keywords"),
        # The license policy reads this: the SPDX string, or a legacy object or array.
        "license": record.manifest.get("license") or record.manifest.get("licenses"),
    }


def _record(version: VersionInfo) -> VersionRecord:
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


def load_state(gateway: Gateway, repo: RepoInfo, name: str) -> PackageState | None:
    """The package as the pure modules see it, or ``None`` if it never existed."""
    versions = gateway.versions(repo, name, include_deleted=True)
    if not versions:
        return None
    live = [v for v in versions if v.state == "published"]
    gone = {v.version: v.published_at or EPOCH for v in versions if v.state != "published"}
    records = {v.version: _record(v) for v in live}
    tags = {tag: v for tag, v in gateway.labels(repo, name).items() if v in records}
    latest = next((v for v in live if v.version == tags.get("latest")), live[-1] if live else None)
    times = [t for v in versions for t in (v.published_at, v.tombstoned_at) if t is not None]
    return PackageState(
        name=name,
        versions=records,
        dist_tags=tags,
        created=min(times, default=EPOCH),
        modified=max(times, default=EPOCH),
        revision=len(versions) + len(tags),
        unpublished=gone,
        maintainers=_maintainers(live),
        readme=latest.metadata.get("readme", "") if latest else "",
        readme_filename=latest.metadata.get("readme_filename", "") if latest else "",
    )


def _maintainers(versions: list[VersionInfo]) -> list[dict[str, str]]:
    seen: dict[str, dict[str, str]] = {}
    for version in versions:
        user = version.metadata.get("manifest", {}).get("_npmUser")
        if isinstance(user, dict) and isinstance(user.get("name"), str):
            seen.setdefault(user["name"], {k: str(v) for k, v in user.items()})
    return list(seen.values())


def package_state(gateway: Gateway, repo: RepoInfo, name: str) -> PackageState:
    """The package's state if it has live versions in *repo*; else NotFound."""
    state = load_state(gateway, repo, name)
    if state is None or not state.versions:
        raise NotFound(f"package {name} not found")
    return state


def stored_packument(gateway: Gateway, repo: RepoInfo, name: str, *, abbreviated: bool) -> Rendered:
    """The package's stored packument in hosted *repo*, tarball URLs under BASE_PLACEHOLDER.

    Built once per change of the package (both forms, each with its ETag).
    """

    def build() -> bytes:
        built = build_packument(package_state(gateway, repo, name), BASE_PLACEHOLDER)
        return built.abbreviated.body if abbreviated else built.full.body

    media_type = ABBREVIATED_MEDIA_TYPE if abbreviated else FULL_MEDIA_TYPE
    key = f"packument:{name}:{'abbreviated' if abbreviated else 'full'}"
    return gateway.rendered(repo, key, package=name, content_type=media_type, build=build)
