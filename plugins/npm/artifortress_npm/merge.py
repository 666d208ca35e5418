"""Packuments of remote and virtual repositories: upstream documents merged and rebased.

Pure functions over parsed full packuments. A remote repository serves its
upstream's document with every ``dist.tarball`` pointing at the gateway; a
virtual one serves the merge of its members' documents: the versions of all
(the first member that has a version wins it), each dist-tag from the first
member that has it (hosted members before the others), the ``time`` entries of
all, the rest of the document from the first member.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from artifortress_npm.packument import tarball_url


@dataclass(frozen=True)
class MemberDocument:
    """One member's full packument, and whether the member is a hosted repository."""

    document: Mapping[str, Any]
    hosted: bool


def merge_packuments(members: Sequence[MemberDocument]) -> dict[str, Any]:
    """One full packument from the members' (in member order; at least one)."""
    first = members[0].document
    merged = dict(first)
    versions: dict[str, Any] = {}
    for member in members:
        for number, version in _mapping(member.document.get("versions")).items():
            versions.setdefault(number, version)
    merged["versions"] = versions
    merged["dist-tags"] = _dist_tags(members, versions)
    merged["time"] = _time(members)
    if len(members) > 1:
        merged.pop("_rev", None)  # a revision of the first member's document only
    return merged


def rebased(document: Mapping[str, Any], name: str, registry_base: str) -> dict[str, Any]:
    """*document* with each version's ``dist.tarball`` under *registry_base*.

    Integrity, shasum and the other ``dist`` fields stay as the upstream
    published them: a client checks the bytes the gateway sends against them.
    """
    versions = {
        number: _rebased_version(version, name, number, registry_base)
        for number, version in _mapping(document.get("versions")).items()
    }
    return {**document, "versions": versions}


def _rebased_version(version: object, name: str, number: str, base: str) -> object:
    if not isinstance(version, Mapping):
        return version
    dist = version.get("dist")
    if not isinstance(dist, Mapping):
        return version
    return {**version, "dist": {**dist, "tarball": tarball_url(base, name, number)}}


def _dist_tags(members: Sequence[MemberDocument], versions: Mapping[str, Any]) -> dict[str, str]:
    """Each tag from the first member that has it, hosted members first; only merged versions."""
    tags: dict[str, str] = {}
    for member in sorted(members, key=lambda m: not m.hosted):  # stable: member order kept
        for tag, number in _mapping(member.document.get("dist-tags")).items():
            if isinstance(number, str) and number in versions:
                tags.setdefault(tag, number)
    return tags


def _time(members: Sequence[MemberDocument]) -> dict[str, Any]:
    """Every member's ``time`` entries (first wins); earliest ``created``, latest ``modified``."""
    times = [_mapping(member.document.get("time")) for member in members]
    merged: dict[str, Any] = {}
    for time in times:
        for key, value in time.items():
            merged.setdefault(key, value)
    for key, pick in (("created", min), ("modified", max)):
        values = [str(time[key]) for time in times if isinstance(time.get(key), str)]
        if values:
            merged[key] = pick(values)  # npm's ISO timestamps order as strings
    return merged


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
