"""Metadata-only updates: a ``PUT`` of the package document without attachments.

``npm deprecate`` fetches the full packument with ``?write=true``, sets or clears
``versions[v].deprecated`` and ``PUT``s the whole document back to ``/{name}``;
``npm unpublish <pkg>@<v>`` ``PUT``s it to ``/{name}/-rev/{rev}`` without that version
(and with dist-tags re-pointed). Only deprecation messages, dist-tags and, in the
unpublish flow, removed versions may change; rewritten manifests, new versions without a
tarball and versions dropped outside the unpublish flow are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from artifortress_npm.errors import NpmError
from artifortress_npm.manifest import SERVER_KEYS, check_document_name, has_attachments
from artifortress_npm.state import PackageState
from artifortress_npm.versions import validate_tag

MAX_DEPRECATION_MESSAGE = 4096


@dataclass(frozen=True)
class MetadataChanges:
    """What a metadata-only ``PUT`` changes.

    ``deprecations`` maps version -> new message, None meaning un-deprecated;
    ``unpublished`` holds versions the unpublish flow dropped; ``dist_tags`` is the new
    complete mapping, None when unchanged; ``rev`` is the document's ``_rev`` if any.
    """

    deprecations: dict[str, str | None]
    unpublished: frozenset[str]
    dist_tags: dict[str, str] | None
    rev: str | None

    @property
    def is_empty(self) -> bool:
        """Tell whether the update changes nothing."""
        return not (self.deprecations or self.unpublished or self.dist_tags is not None)


def check_metadata_update(
    url_name: str, document: Mapping[str, Any], state: PackageState, *, allow_unpublish: bool
) -> MetadataChanges:
    """Decide what a ``PUT`` without attachments may change, refusing anything else.

    ``allow_unpublish`` is True for ``PUT /{name}/-rev/{rev}`` (the unpublish flow): only
    there may versions disappear from the document.
    """
    check_document_name(url_name, document)
    if has_attachments(document):
        raise NpmError("a metadata update carries no attachments")
    versions = document.get("versions", state.versions)
    if not isinstance(versions, Mapping):
        raise NpmError("versions must be an object")
    _check_version_set(set(versions), state, allow_unpublish=allow_unpublish)
    deprecations: dict[str, str | None] = {}
    for version, sent in versions.items():
        record = state.versions[version]
        if sent is record:
            continue  # "versions" was absent: nothing sent, nothing changed
        if not isinstance(sent, dict):
            raise NpmError(f"versions[{version!r}] must be an object")
        _check_unchanged(version, sent, record.manifest)
        message = _deprecation(version, sent.get("deprecated"))
        if message != record.deprecated:
            deprecations[version] = message
    rev = document.get("_rev")
    return MetadataChanges(
        deprecations=deprecations,
        unpublished=frozenset(set(state.versions) - set(versions)),
        dist_tags=_changed_tags(document.get("dist-tags"), state, set(versions)),
        rev=rev if isinstance(rev, str) else None,
    )


def _check_version_set(sent: set[str], state: PackageState, *, allow_unpublish: bool) -> None:
    for version in sorted(sent - set(state.versions)):
        if version in state.unpublished:
            raise NpmError(
                f"cannot publish over the previously published versions: {version}.", 403
            )
        raise NpmError(f"version {version} has no tarball attachment")
    removed = sorted(set(state.versions) - sent)
    if removed and not allow_unpublish:
        raise NpmError(
            f"versions {', '.join(removed)} are missing from the document; "
            "remove versions with npm unpublish"
        )
    if removed and not sent:
        raise NpmError("a metadata update cannot remove every version; unpublish the package")


def _check_unchanged(version: str, sent: Mapping[str, Any], stored: Mapping[str, Any]) -> None:
    """Refuse a version manifest that differs from the stored one outside server keys."""
    keys = (set(sent) | set(stored)) - SERVER_KEYS
    changed = sorted(k for k in keys if sent.get(k, ...) != stored.get(k, ...))
    if changed:
        raise NpmError(
            f"versions[{version!r}] was modified ({', '.join(changed[:5])}); a metadata "
            "update may only change deprecation messages and dist-tags"
        )


def _deprecation(version: str, value: object) -> str | None:
    if value is None or value == "":
        return None  # npm deprecate with an empty message un-deprecates
    if not isinstance(value, str) or len(value) > MAX_DEPRECATION_MESSAGE:
        raise NpmError(
            f"versions[{version!r}].deprecated must be a string of at most "
            f"{MAX_DEPRECATION_MESSAGE} characters"
        )
    return value


def _changed_tags(raw: object, state: PackageState, remaining: set[str]) -> dict[str, str] | None:
    """Return the new dist-tags if the document changes them, refusing dangling tags."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise NpmError("dist-tags must be an object")
    tags: dict[str, str] = {}
    for tag, version in raw.items():
        if not isinstance(version, str) or version not in remaining:
            raise NpmError(f"dist-tag {tag!r} points to {version!r}, which is not a version")
        tags[validate_tag(tag)] = version
    if remaining and "latest" not in tags:
        raise NpmError("dist-tags must keep 'latest'")
    return None if tags == dict(state.dist_tags) else tags
