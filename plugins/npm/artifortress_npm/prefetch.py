"""What ``artifortress remote prefetch`` fetches for npm: the tarballs of a package-lock.json.

Lock files of version 2 and 3 (npm 7 and later) list every installed package
under ``packages`` with its ``version`` and where it was ``resolved`` from.
Each registry package gives its packument and its tarball; links, bundled
packages and packages resolved from git or a folder are not on a registry
and are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from artifortress.plugin import BadRequest, Prefetch
from artifortress_npm.names import tarball_filename

#: What npm asks for when it installs (the abbreviated packument, or the full one).
INSTALL_ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"


def package_lock(text: str) -> Iterator[Prefetch]:
    """The packument of each package once, then the tarball of each installed version."""
    seen: set[str] = set()
    for name, version in _installed(_packages(text)):
        if name not in seen:
            seen.add(name)
            yield Prefetch(name, accept=INSTALL_ACCEPT)
        yield Prefetch(f"{name}/-/{tarball_filename(name, version)}")


def _packages(text: str) -> Mapping[str, Any]:
    try:
        lock = json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"not a package-lock.json: {exc}") from None
    packages = lock.get("packages") if isinstance(lock, dict) else None
    if not isinstance(packages, dict):
        raise BadRequest(
            "the lock file has no 'packages' (lockfileVersion 2 or 3, written by npm 7 or later)"
        )
    return packages


def _installed(packages: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(name, version) of each package installed from a registry, in the lock file's order."""
    for location, entry in packages.items():
        if not location or not isinstance(entry, dict):
            continue  # "" is the project itself
        if entry.get("link") or entry.get("inBundle"):
            continue
        resolved, version = entry.get("resolved"), entry.get("version")
        if not isinstance(resolved, str) or not resolved.startswith(("https://", "http://")):
            continue  # git, a folder or a tarball on disk: not from a registry
        if not isinstance(version, str):
            continue
        name = entry.get("name") or location.rpartition("node_modules/")[2]
        yield str(name), version
