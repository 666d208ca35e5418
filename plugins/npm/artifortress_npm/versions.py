"""Semantic versions as npm publishes them, their order, and dist-tag names.

libnpmpublish runs ``semver.clean`` before sending, so a published version is a plain
SemVer 2.0 version without a leading ``v`` and without build metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from artifortress_npm.errors import NpmError

MAX_VERSION_LENGTH = 256
MAX_TAG_LENGTH = 128
_MAX_SAFE_INTEGER = 2**53 - 1

_NUM = r"0|[1-9]\d*"
_PRE_ID = r"0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*"
_VERSION = re.compile(
    rf"({_NUM})\.({_NUM})\.({_NUM})(?:-((?:{_PRE_ID})(?:\.(?:{_PRE_ID}))*))?"
    r"(\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?"
)
# What encodeURIComponent leaves alone: npm-package-arg refuses tags needing escapes.
_TAG = re.compile(r"[A-Za-z0-9_.!~*'()-]+")
# Tags that a semver range parser would take as a range ("1", "v2", "x", "x.1", "~1", "*").
_RANGE_LIKE = re.compile(r"(?:[vV=]?\d|[~^*<>=]|[xX](?:$|\.)).*", re.DOTALL)

VersionKey = tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]


def is_valid_version(version: object) -> bool:
    """Tell whether ``version`` is a clean SemVer version npm would publish."""
    if not isinstance(version, str) or len(version) > MAX_VERSION_LENGTH:
        return False
    match = _VERSION.fullmatch(version)
    if match is None or match.group(5):
        return False
    return all(int(match.group(i)) <= _MAX_SAFE_INTEGER for i in (1, 2, 3))


def is_semver(version: str) -> bool:
    """Tell whether *version* is SemVer 2.0 (build metadata allowed): what clients install."""
    return _VERSION.fullmatch(version) is not None


def validate_version(version: object) -> str:
    """Return ``version`` if it is publishable, else raise a 400 :class:`NpmError`."""
    if not is_valid_version(version):
        raise NpmError(f"invalid version {version!r}: expected a SemVer version like 1.2.3")
    assert isinstance(version, str)
    return version


def clean_version(version: object) -> str | None:
    """Return ``version`` as ``semver.clean`` would (trimmed, no ``v``/``=``, no build)."""
    if not isinstance(version, str):
        return None
    candidate = version.strip().lstrip("=v")
    match = _VERSION.fullmatch(candidate)
    if match is None:
        return None
    return candidate[: match.start(5)] if match.group(5) else candidate


@lru_cache(maxsize=65536)
def version_key(version: str) -> VersionKey:
    """Return a sort key ordering versions by SemVer precedence.

    A release sorts after its pre-releases; pre-release identifiers compare numerically
    when numeric, lexically otherwise, numeric ones first. Invalid versions sort first.
    """
    match = _VERSION.fullmatch(version)
    if match is None:
        return (-1, -1, -1, -1, ())
    major, minor, patch = (int(match.group(i)) for i in (1, 2, 3))
    prerelease = match.group(4)
    if prerelease is None:
        return (major, minor, patch, 1, ())
    identifiers = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in prerelease.split(".")
    )
    return (major, minor, patch, 0, identifiers)


def sort_versions(versions: Iterable[str]) -> list[str]:
    """Return ``versions`` in ascending SemVer order."""
    return sorted(versions, key=version_key)


def highest_version(versions: Iterable[str], *, prefer_release: bool = True) -> str | None:
    """Return the highest version, preferring releases over pre-releases when asked."""
    ordered = sort_versions(versions)
    if prefer_release:
        releases = [v for v in ordered if version_key(v)[3] == 1]
        ordered = releases or ordered
    return ordered[-1] if ordered else None


def validate_tag(tag: object) -> str:
    """Return ``tag`` if it can be a dist-tag, else raise a 400 :class:`NpmError`."""
    if not isinstance(tag, str) or not tag:
        raise NpmError("dist-tag must be a non-empty string")
    if len(tag) > MAX_TAG_LENGTH or _TAG.fullmatch(tag) is None:
        raise NpmError(f"invalid dist-tag {tag!r}: only URL-safe characters are allowed")
    if _RANGE_LIKE.fullmatch(tag):
        raise NpmError(f"invalid dist-tag {tag!r}: tag names must not look like versions")
    return tag
