"""The releases the PyPI JSON API shows, for hosted, remote and virtual repositories alike.

A hosted repository's are its published versions. A remote's are its
upstream's: every version the upstream page lists, whether fetched yet or
not, with the files, hashes, ``requires-python``, yanking, sizes and upload
times that page gives (read once per fetch of it, as for the simple pages).
The upstream page carries no core metadata, so a remote release's ``info``
holds what its files tell. A virtual merges the releases of the members
``gateway.sources()`` names (a name a hosted member publishes comes from
hosted members only), in order: the first member listing a filename wins, and
a release takes the core metadata of the first member that has it.
Every file URL is absolute and under *files_url*: the repository the client asked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from packaging.version import InvalidVersion, Version

from artifortress.plugin import HOSTED, REMOTE, Gateway, RecentCache, RepoInfo
from artifortress_pypi import listings, members, remote
from artifortress_pypi.filenames import version_key
from artifortress_pypi.hosted import FILES_FROM_PROJECT
from artifortress_pypi.listings import FILES_KEPT, Listing
from artifortress_pypi.pypi_json import Release
from artifortress_pypi.simple import DistFile


def releases(gateway: Gateway, repo: RepoInfo, name: str, files_url: str) -> list[Release]:
    """The releases of project *name* (normalized) in *repo*; none when it has no such project."""
    if repo.kind == HOSTED:
        return [listings.release(v, files_url) for v in gateway.versions(repo, name)]
    if repo.kind == REMOTE:
        return _upstream_releases(gateway, repo, name, files_url)
    sources = gateway.sources(repo, name)
    return _merged(members.answers(sources, lambda m: releases(gateway, m, name, files_url)))


#: A remote's releases per reading of its upstream page (grouping 3,000 files takes ~20 ms).
_UPSTREAM: RecentCache[list[Release]] = RecentCache(
    lambda found: sum(len(r.files) for r in found), FILES_KEPT
)


def _upstream_releases(
    gateway: Gateway, repo: RepoInfo, name: str, files_url: str
) -> list[Release]:
    _page, listing = remote.upstream_page(gateway, repo, name)
    key = (repo.id, name, listing.changed_at, files_url)  # changed_at: the page's fetch
    found = _UPSTREAM.get(key)
    if found is None:
        found = _grouped(name, listing, files_url)
        _UPSTREAM.put(key, found)
    return found


def _grouped(name: str, listing: Listing, files_url: str) -> list[Release]:
    """The listing's files by version, every version listed, URLs under *files_url*."""
    files: dict[str, list[DistFile]] = {_canonical(v): [] for v in listing.versions}
    for file in listing.files:
        url = files_url + file.url.removeprefix(FILES_FROM_PROJECT)
        version = version_key(name, file.filename)
        files.setdefault(version, []).append(dataclasses.replace(file, url=url))
    return [Release(version, listed) for version, listed in files.items()]


def _merged(answers: Iterable[list[Release]]) -> list[Release]:
    """Members' releases as one list: versions united, the first member's file of a name wins."""
    merged: dict[str, Release] = {}
    for member_releases in answers:
        for release in member_releases:
            key = _canonical(release.version)
            known = merged.get(key)
            if known is None:
                merged[key] = release
                continue
            filenames = {file.filename for file in known.files}
            added = [file for file in release.files if file.filename not in filenames]
            merged[key] = Release(
                known.version, [*known.files, *added], known.metadata or release.metadata
            )
    return list(merged.values())


def _canonical(version: str) -> str:
    """A version in its PEP 440 normalized spelling (as the remote keeps it), else as given."""
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def release_of(found: Iterable[Release], version: str) -> Release | None:
    """The release of *version* (any PEP 440 spelling of it) among *found*."""
    wanted = _canonical(version)
    return next((r for r in found if _canonical(r.version) == wanted), None)
