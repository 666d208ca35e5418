"""The PyPI JSON API (``/pypi/<name>/json`` and ``/pypi/<name>/<version>/json``) from plain data.

Poetry and Dependabot read ``info`` (requires_dist, requires_python, version, yanked),
``releases`` (version keys) and ``urls`` (files with ``digests``); the document follows
PyPI's shape, with the keys a private index cannot know (downloads, vulnerabilities) neutral.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from .metadata import CoreMetadata
from .simple import DistFile, format_upload_time, is_yanked, yanked_reason

_NO_DOWNLOADS = {"last_day": -1, "last_month": -1, "last_week": -1}


@dataclass(frozen=True, slots=True)
class Release:
    """One version of a project: its core metadata (when known) and its files."""

    version: str
    files: Sequence[DistFile]
    metadata: CoreMetadata | None = None


def latest_version(releases: Iterable[Release]) -> Release | None:
    """Pick the release PyPI would show: highest final, else highest pre-release, not yanked.

    When every release is yanked the highest one is returned; releases whose version does
    not parse sort below all others.
    """
    ordered = sorted(releases, key=_sort_key, reverse=True)
    live = [release for release in ordered if not _release_yanked(release)]
    for release in live:
        if not _is_prerelease(release.version):
            return release
    if live:
        return live[0]
    return ordered[0] if ordered else None


def render_project(
    name: str, latest: Release, releases: Iterable[Release], *, project_url: str = ""
) -> bytes:
    """Render ``/pypi/<name>/json``: ``info`` of ``latest``, every release's files, its urls."""
    document = _release_document(name, latest, project_url)
    document["releases"] = {
        release.version: [_file(file) for file in release.files] for release in releases
    }
    return _dump(document)


def render_release(name: str, release: Release, *, project_url: str = "") -> bytes:
    """Render ``/pypi/<name>/<version>/json`` (no ``releases`` key, as on PyPI today)."""
    return _dump(_release_document(name, release, project_url))


def _release_document(name: str, release: Release, project_url: str) -> dict[str, Any]:
    """The keys both documents share: info, last_serial, urls, vulnerabilities."""
    return {
        "info": _info(name, release, project_url),
        "last_serial": 0,
        "urls": [_file(file) for file in release.files],
        "vulnerabilities": [],
    }


def _info(name: str, release: Release, project_url: str) -> dict[str, Any]:
    """The ``info`` object, from the release's core metadata (empty values when unknown)."""
    meta = release.metadata or CoreMetadata(metadata_version="", name=name, version="")
    release_url = f"{project_url}{release.version}/" if project_url else ""
    reasons = [reason for file in release.files if (reason := yanked_reason(file))]
    return {
        "author": meta.author or "",
        "author_email": meta.author_email or "",
        "bugtrack_url": None,
        "classifiers": list(meta.classifiers),
        "description": meta.description or "",
        "description_content_type": meta.description_content_type,
        "docs_url": None,
        "download_url": meta.download_url or "",
        "downloads": dict(_NO_DOWNLOADS),
        "dynamic": list(meta.dynamic) or None,
        "home_page": meta.home_page or "",
        "keywords": ",".join(meta.keywords),
        "license": meta.license or "",
        "license_expression": meta.license_expression,
        "license_files": list(meta.license_files) or None,
        "maintainer": meta.maintainer or "",
        "maintainer_email": meta.maintainer_email or "",
        "name": meta.name or name,
        "package_url": project_url,
        "platform": ", ".join(meta.platforms) or None,
        "project_url": project_url,
        "project_urls": dict(meta.project_urls) or None,
        "provides_extra": list(meta.provides_extra) or None,
        "release_url": release_url,
        "requires_dist": list(meta.requires_dist) or None,
        "requires_python": meta.requires_python or _files_requires_python(release),
        "summary": meta.summary or "",
        "version": release.version,
        "yanked": _release_yanked(release),
        "yanked_reason": reasons[0] if reasons else None,
    }


def _files_requires_python(release: Release) -> str:
    """Without core metadata (a remote's release), the ``requires-python`` its files declare."""
    return next((file.requires_python for file in release.files if file.requires_python), "")


def _file(file: DistFile) -> dict[str, Any]:
    """One file in PyPI's shape, with the digests that are known."""
    wheel = file.filename.endswith(".whl")
    digests = {"sha256": file.sha256}
    if file.md5:
        digests["md5"] = file.md5
    if file.blake2_256:
        digests["blake2b_256"] = file.blake2_256
    upload_time = format_upload_time(file.upload_time) if file.upload_time else None
    return {
        "comment_text": "",
        "digests": digests,
        "downloads": -1,
        "filename": file.filename,
        "has_sig": False,
        "md5_digest": file.md5,
        "packagetype": "bdist_wheel" if wheel else "sdist",
        "python_version": _python_tag(file.filename) if wheel else "source",
        "requires_python": file.requires_python,
        "size": file.size,
        "upload_time": upload_time[:19] if upload_time else None,
        "upload_time_iso_8601": upload_time,
        "url": file.url,
        "yanked": is_yanked(file),
        "yanked_reason": yanked_reason(file),
    }


def _python_tag(filename: str) -> str:
    """The python tag of a wheel filename (``name-ver[-build]-py-abi-plat.whl``)."""
    return filename[: -len(".whl")].split("-")[-3]


def _release_yanked(release: Release) -> bool:
    """A release counts as yanked when it has files and all of them are yanked."""
    return bool(release.files) and all(is_yanked(file) for file in release.files)


def _sort_key(release: Release) -> tuple[int, Version]:
    """Order by PEP 440 version; unparsable versions sort first (lowest)."""
    try:
        return 1, Version(release.version)
    except InvalidVersion:
        return 0, Version("0")


def _is_prerelease(version: str) -> bool:
    """Tell whether a version is a pre- or dev release (unparsable ones count as such)."""
    try:
        return Version(version).is_prerelease
    except InvalidVersion:
        return True


def _dump(document: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
