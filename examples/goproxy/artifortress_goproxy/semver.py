"""Module versions: canonical semantic versions, their order and the ``@latest`` choice.

The rules are those of ``golang.org/x/mod/semver`` and ``module``: a module
version is ``vMAJOR.MINOR.PATCH[-PRERELEASE]`` with no leading zeros, and
``+incompatible`` is the only build suffix it may carry (a v2+ release of a
module without go.mod). Pseudo-versions (``v0.0.0-20191109021931-daa7c04131f5``)
name commits: they are never listed and come last when choosing ``@latest``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable

from artifortress_goproxy.errors import GoProxyError

_NUMBER = r"(0|[1-9][0-9]*)"
_IDENTIFIER = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_CANONICAL = re.compile(
    rf"v{_NUMBER}\.{_NUMBER}\.{_NUMBER}(?:-({_IDENTIFIER}(?:\.{_IDENTIFIER})*))?(\+incompatible)?"
)
# golang.org/x/mod/module's pseudoVersionRE, with +incompatible the only build suffix.
_PSEUDO = re.compile(
    r"v[0-9]+\.(?:0\.0-|[0-9]+\.[0-9]+-(?:[^+]*\.)?0\.)([0-9]{14})-[A-Za-z0-9]+(?:\+incompatible)?"
)

# Numeric pre-release identifiers sort before alphanumeric ones, numerically.
PrereleaseKey = tuple[tuple[int, int, str], ...]


@dataclasses.dataclass(frozen=True)
class Version:
    text: str
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...]
    incompatible: bool

    @property
    def is_pseudo(self) -> bool:
        return _PSEUDO.fullmatch(self.text) is not None

    @property
    def commit_time(self) -> dt.datetime | None:
        """The commit time a pseudo-version carries (UTC), else ``None``."""
        found = _PSEUDO.fullmatch(self.text)
        if found is None:
            return None
        return dt.datetime.strptime(found.group(1), "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)

    def sort_key(self) -> tuple[int, int, int, bool, PrereleaseKey]:
        """Semantic version precedence: a release after its pre-releases; build ignored."""
        identifiers = tuple(
            (0, int(part), "") if part.isdigit() else (1, 0, part) for part in self.prerelease
        )
        return (self.major, self.minor, self.patch, not self.prerelease, identifiers)


def parse(text: str) -> Version:
    """*text* as a canonical module version; :class:`GoProxyError` (400) otherwise."""
    found = _CANONICAL.fullmatch(text)
    if found is None:
        raise GoProxyError(
            f"version {text!r} is not canonical: use vMAJOR.MINOR.PATCH[-PRERELEASE] "
            "without leading zeros (+incompatible is the only suffix allowed)"
        )
    major, minor, patch, prerelease, incompatible = found.groups()
    return Version(
        text,
        int(major),
        int(minor),
        int(patch),
        tuple(prerelease.split(".")) if prerelease else (),
        incompatible is not None,
    )


def is_canonical(text: str) -> bool:
    return _CANONICAL.fullmatch(text) is not None


def ordered(texts: Iterable[str]) -> list[str]:
    """Canonical versions among *texts*, lowest first."""
    versions = [parse(text) for text in texts if is_canonical(text)]
    return [version.text for version in sorted(versions, key=Version.sort_key)]


def listed(texts: Iterable[str]) -> list[str]:
    """What ``@v/list`` shows: the tagged versions, lowest first (no pseudo-versions)."""
    return [text for text in ordered(texts) if not parse(text).is_pseudo]


def latest(texts: Iterable[str]) -> str | None:
    """The go command's ``@latest``: the highest release, else pre-release, else pseudo-version."""
    versions = [parse(text) for text in ordered(texts)]
    releases = [v for v in versions if not v.prerelease]
    prereleases = [v for v in versions if v.prerelease and not v.is_pseudo]
    for tier in (releases, prereleases, versions):
        if tier:
            return tier[-1].text
    return None
