"""How a package's state changes: publish, metadata update, dist-tags, version removal.

Each function returns a new :class:`PackageState` (the input is never modified) with the
revision bumped and ``modified`` set, ready for ``packument.build_packument``. The core
may keep its state in rows instead; these functions then document the semantics, such as
unpublished versions keeping their time so their numbers are never reused.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime

from artifortress_npm.dist_tags import live_dist_tags, tags_after_publish, tags_after_removal
from artifortress_npm.errors import NpmError
from artifortress_npm.manifest import NormalizedVersion
from artifortress_npm.metadata import MetadataChanges
from artifortress_npm.state import PackageState, VersionRecord


def after_publish(
    state: PackageState | None,
    name: str,
    record: VersionRecord,
    normalized: NormalizedVersion,
    tags: Mapping[str, str],
    *,
    now: datetime,
    maintainer: Mapping[str, str] | None = None,
) -> PackageState:
    """Add a published version; ``latest`` is set when the package has none yet."""
    dist_tags = tags_after_publish(live_dist_tags(state) if state else {}, tags, record.version)
    maintainers = list(state.maintainers) if state else []
    if maintainer is not None and all(m.get("name") != maintainer.get("name") for m in maintainers):
        maintainers.append(dict(maintainer))
    is_latest = dist_tags["latest"] == record.version
    if state is None:
        return PackageState(
            name=name,
            versions={record.version: record},
            dist_tags=dist_tags,
            created=now,
            modified=now,
            revision=1,
            maintainers=maintainers,
            readme=normalized.readme,
            readme_filename=normalized.readme_filename,
        )
    return replace(
        state,
        versions={**state.versions, record.version: record},
        dist_tags=dist_tags,
        modified=now,
        revision=state.revision + 1,
        maintainers=maintainers,
        readme=normalized.readme if is_latest else state.readme,
        readme_filename=normalized.readme_filename if is_latest else state.readme_filename,
    )


def after_metadata_update(
    state: PackageState, changes: MetadataChanges, *, now: datetime
) -> PackageState:
    """Apply deprecations, unpublished versions and dist-tags; no-op updates change nothing."""
    if changes.is_empty:
        return state
    versions = {
        version: replace(record, deprecated=changes.deprecations.get(version, record.deprecated))
        for version, record in state.versions.items()
        if version not in changes.unpublished
    }
    removed = {v: state.versions[v].published for v in changes.unpublished}
    tags = changes.dist_tags
    if tags is None:
        tags = tags_after_removal(state.dist_tags, versions)
    return replace(
        state,
        versions=versions,
        unpublished={**state.unpublished, **removed},
        dist_tags=tags,
        modified=now,
        revision=state.revision + 1,
    )


def after_dist_tags(state: PackageState, tags: Mapping[str, str], *, now: datetime) -> PackageState:
    """Replace the dist-tags (from ``dist_tags.set_dist_tag``/``remove_dist_tag``)."""
    return replace(state, dist_tags=dict(tags), modified=now, revision=state.revision + 1)


def after_removal(state: PackageState, removed: Collection[str], *, now: datetime) -> PackageState:
    """Unpublish versions server-side (e.g. ``DELETE`` of a tarball); keep their times.

    Removing every version is refused: that is the whole-package unpublish, a delete.
    """
    unknown = sorted(set(removed) - set(state.versions))
    if unknown:
        raise NpmError(f"version {unknown[0]} of {state.name} not found", 404)
    remaining = {v: r for v, r in state.versions.items() if v not in removed}
    if not remaining:
        raise NpmError("removing every version unpublishes the package; delete it instead")
    return replace(
        state,
        versions=remaining,
        unpublished={**state.unpublished, **{v: state.versions[v].published for v in removed}},
        dist_tags=tags_after_removal(state.dist_tags, remaining),
        modified=now,
        revision=state.revision + 1,
    )
