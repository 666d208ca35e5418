"""How npm packages live in the core: a version's metadata holds its record, labels are dist-tags.

``load_state`` rebuilds the pure modules' :class:`PackageState` from the core's
versions (tombstoned ones become ``unpublished``, keeping their time so the
number is never reused) and labels.
"""

from __future__ import annotations

from typing import Any

from artifortress.plugin import Gateway, NotFound, Rendered, RepoInfo
from artifortress_npm import pieces
from artifortress_npm.manifest import NormalizedVersion
from artifortress_npm.packument import (
    ABBREVIATED_MEDIA_TYPE,
    BASE_PLACEHOLDER,
    FULL_MEDIA_TYPE,
    build_packument,
)
from artifortress_npm.records import (  # EPOCH: kept importable from here
    latest_of,
    publisher,
    state_of,
    version_record,
)
from artifortress_npm.state import PackageState, VersionRecord


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


def load_state(gateway: Gateway, repo: RepoInfo, name: str) -> PackageState | None:
    """The package as the pure modules see it, or ``None`` if it never existed."""
    versions = gateway.versions(repo, name, include_deleted=True)
    if not versions:
        return None
    live = [v for v in versions if v.state == "published"]
    records = {v.version: version_record(v) for v in live}
    tags = {tag: v for tag, v in gateway.labels(repo, name).items() if v in records}
    publishers = [publisher(records[v.version]) for v in live]
    return state_of(name, versions, tags, records, latest_of(live, tags), publishers)


def package_state(gateway: Gateway, repo: RepoInfo, name: str) -> PackageState:
    """The package's state if it has live versions in *repo*; else NotFound."""
    state = load_state(gateway, repo, name)
    if state is None or not state.versions:
        raise NotFound(f"package {name} not found")
    return state


def stored_packument(gateway: Gateway, repo: RepoInfo, name: str, *, abbreviated: bool) -> Rendered:
    """The package's stored packument in hosted *repo*, tarball URLs under BASE_PLACEHOLDER.

    Built once per change of the package (each form with its ETag), from the
    versions' kept pieces (:mod:`pieces`) when it can.
    """

    def build() -> bytes:
        body = pieces.packument_body(gateway, repo, name, abbreviated=abbreviated)
        if body is not None:
            return body
        built = build_packument(package_state(gateway, repo, name), BASE_PLACEHOLDER)
        return built.abbreviated.body if abbreviated else built.full.body

    media_type = ABBREVIATED_MEDIA_TYPE if abbreviated else FULL_MEDIA_TYPE
    key = f"packument:{name}:{'abbreviated' if abbreviated else 'full'}"
    return gateway.rendered(repo, key, package=name, content_type=media_type, build=build)
