"""Dist-tag operations of ``npm dist-tag add/rm/ls`` and the tag fix-ups of unpublish.

``npm dist-tag add`` sends ``PUT /-/package/{name}/dist-tags/{tag}`` with the version as a
JSON string body; ``rm`` sends ``DELETE`` to the same path; ``ls`` reads
``GET /-/package/{name}/dist-tags``. Functions return the new complete mapping.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping

from artifortress_npm.errors import NpmError
from artifortress_npm.state import PackageState
from artifortress_npm.versions import highest_version, validate_tag

MAX_TAG_BODY = 1024


def parse_dist_tag_body(raw: bytes) -> str:
    """Return the version of a ``PUT .../dist-tags/{tag}`` body (a JSON string)."""
    if len(raw) > MAX_TAG_BODY:
        raise NpmError("dist-tag body too large", 413)
    try:
        version = json.loads(raw)
    except (ValueError, RecursionError):  # 1 KB of "[" nests deeper than the parser goes
        version = None
    if not isinstance(version, str) or not version:
        raise NpmError('dist-tag body must be a JSON string naming a version, e.g. "1.0.0"')
    return version


def live_dist_tags(state: PackageState) -> dict[str, str]:
    """Return the tags that point at live versions (what clients may see)."""
    return {tag: v for tag, v in state.dist_tags.items() if v in state.versions}


def tags_after_publish(
    live: Mapping[str, str], document_tags: Mapping[str, str], version: str
) -> dict[str, str]:
    """The tags after publishing *version*: the live ones plus the document's.

    ``latest`` goes to the new version only when the package has no ``latest``
    yet or the document asks for it (``npm publish --tag beta`` leaves it alone).
    """
    tags = {**live, **document_tags}
    tags.setdefault("latest", version)
    return tags


def dist_tags_json(state: PackageState) -> bytes:
    """Return the body of ``GET /-/package/{name}/dist-tags``."""
    return json.dumps(live_dist_tags(state), separators=(",", ":")).encode()


def set_dist_tag(state: PackageState, tag: str, version: str) -> dict[str, str]:
    """Point ``tag`` at ``version``; 404 if that version is not published."""
    validate_tag(tag)
    if version not in state.versions:
        raise NpmError(f"version {version} of {state.name} not found", 404)
    return {**live_dist_tags(state), tag: version}


def remove_dist_tag(state: PackageState, tag: str) -> dict[str, str]:
    """Remove ``tag``; ``latest`` cannot be removed while versions exist."""
    tags = live_dist_tags(state)
    if tag not in tags:
        raise NpmError(f"dist-tag {tag!r} not found on {state.name}", 404)
    if tag == "latest":
        raise NpmError("the latest dist-tag cannot be removed; point it elsewhere instead")
    del tags[tag]
    return tags


def tags_after_removal(tags: Mapping[str, str], remaining: Collection[str]) -> dict[str, str]:
    """Drop tags of removed versions; re-point ``latest`` at the highest remaining release.

    Mirrors what libnpmpublish's unpublish does on the client, for the server-side paths
    (``DELETE`` of a tarball or a version) where the client sent no new tags.
    """
    kept = {tag: v for tag, v in tags.items() if v in remaining}
    if "latest" not in kept:
        latest = highest_version(remaining)
        if latest is not None:
            kept["latest"] = latest
    return kept
