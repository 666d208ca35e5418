"""The simple repository API (PEPs 503, 592, 629, 658, 691, 700, 714, 740) from plain data.

HTML and JSON pages are built with one pass over the files and string joins (no template
engine), so a 1,000-file project page renders in a few milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from json.encoder import encode_basestring_ascii as _quote
from typing import Any, Final

from .names import normalize

# 1.1: PEP 700 (versions, size, upload-time); 1.2 and 1.3: PEP 740 provenance.
API_VERSION: Final = "1.3"
JSON: Final = "application/vnd.pypi.simple.v1+json"
HTML: Final = "application/vnd.pypi.simple.v1+html"
TEXT_HTML: Final = "text/html"
MEDIA_TYPES: Final = (JSON, HTML, TEXT_HTML)


@dataclass(frozen=True, slots=True)
class DistFile:
    """One distribution file as the index lists it.

    ``yanked``: False, True (no reason) or the reason (an empty reason counts as True).
    ``core_metadata_sha256``: set only when ``<url>.metadata`` is really served (PEP 658).
    ``md5`` and ``blake2_256`` feed the PyPI JSON API only. ``size`` and
    ``upload_time`` are unknown (None) for a file listed by a PEP 503 HTML upstream.
    """

    filename: str
    url: str
    sha256: str
    size: int | None
    upload_time: datetime | None
    requires_python: str | None = None
    yanked: bool | str = False
    core_metadata_sha256: str | None = None
    provenance_url: str | None = None
    md5: str | None = None
    blake2_256: str | None = None


@dataclass(frozen=True, slots=True)
class ProjectPage:
    """A project's detail page: normalized name, its files and every version it has.

    ``api_version``: lower than :data:`API_VERSION` when the files lack what a
    later version requires (sizes, from an upstream that gave none: 1.0).
    """

    name: str
    files: Sequence[DistFile]
    versions: Sequence[str]
    api_version: str = API_VERSION


def format_upload_time(moment: datetime) -> str:
    """Format as ``yyyy-mm-ddThh:mm:ss.ffffffZ`` in UTC (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        return moment.isoformat(timespec="microseconds") + "Z"
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    # An aware UTC isoformat ends in "+00:00"; slicing it off is cheaper than replace().
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


def is_yanked(file: DistFile) -> bool:
    """Tell whether the file is yanked (a reason string, even empty, means yanked)."""
    return file.yanked is not False


def yanked_reason(file: DistFile) -> str | None:
    """The yank reason, or None when not yanked or yanked without a reason."""
    return file.yanked if isinstance(file.yanked, str) and file.yanked else None


def render_project_html(page: ProjectPage) -> bytes:
    """Render the PEP 503 project page: hashes, requires-python, yanks, metadata, provenance."""
    name = escape(page.name)
    parts = [
        "<!DOCTYPE html>\n<html>\n  <head>\n",
        f'    <meta name="pypi:repository-version" content="{page.api_version}">\n',
        f"    <title>Links for {name}</title>\n  </head>\n  <body>\n",
        f"    <h1>Links for {name}</h1>\n",
    ]
    parts.extend(_anchor(file) for file in page.files)
    parts.append("  </body>\n</html>\n")
    return "".join(parts).encode("utf-8")


def _anchor(file: DistFile) -> str:
    """One file link; every attribute value is HTML-escaped (``<`` in requires-python too)."""
    attributes = [f'<a href="{escape(file.url)}#sha256={escape(file.sha256)}"']
    if file.requires_python:
        attributes.append(f'data-requires-python="{escape(file.requires_python)}"')
    if file.yanked is not False:
        attributes.append(f'data-yanked="{escape(yanked_reason(file) or "")}"')
    if file.core_metadata_sha256:
        value = f"sha256={escape(file.core_metadata_sha256)}"
        # PEP 714: the new name, plus the old one for pip < 23.2 (HTML only, same value).
        attributes.append(f'data-core-metadata="{value}" data-dist-info-metadata="{value}"')
    if file.provenance_url:
        attributes.append(f'data-provenance="{escape(file.provenance_url)}"')
    return f"    {' '.join(attributes)}>{escape(file.filename)}</a><br />\n"


def project_json(page: ProjectPage) -> dict[str, Any]:
    """The PEP 691/700 project document as a dict (``core-metadata``, never the old key)."""
    return {
        "meta": {"api-version": page.api_version},
        "name": page.name,
        "versions": list(page.versions),
        "files": [_file_json(file) for file in page.files],
    }


def render_project_json(page: ProjectPage) -> bytes:
    """Render the PEP 691 JSON project page (the same document as ``project_json``).

    Written as text with the C string encoder rather than via per-file dicts and
    ``json.dumps``: this halves the time of a large page.
    """
    head = (
        f'{{"meta":{{"api-version":"{page.api_version}"}},"name":{_quote(page.name)},'
        f'"versions":[{",".join(map(_quote, page.versions))}],"files":['
    )
    return (head + ",".join(map(_file_json_text, page.files)) + "]}").encode("ascii")


def _file_json_text(file: DistFile) -> str:
    """One file entry as JSON text, with the keys and omissions of ``_file_json``."""
    reason = yanked_reason(file)
    yanked = _quote(reason) if reason else ("true" if file.yanked is not False else "false")
    text = (
        f'{{"filename":{_quote(file.filename)},"url":{_quote(file.url)},'
        f'"hashes":{{"sha256":{_quote(file.sha256)}}},"yanked":{yanked}'
    )
    if file.size is not None:
        text += f',"size":{int(file.size)}'
    if file.upload_time is not None:
        text += f',"upload-time":"{format_upload_time(file.upload_time)}"'
    if file.requires_python:
        text += f',"requires-python":{_quote(file.requires_python)}'
    if file.core_metadata_sha256:
        text += f',"core-metadata":{{"sha256":{_quote(file.core_metadata_sha256)}}}'
    if file.provenance_url:
        text += f',"provenance":{_quote(file.provenance_url)}'
    return text + "}"


def _file_json(file: DistFile) -> dict[str, Any]:
    """One file entry; optional keys are omitted rather than null."""
    entry: dict[str, Any] = {
        "filename": file.filename,
        "url": file.url,
        "hashes": {"sha256": file.sha256},
        "yanked": yanked_reason(file) or is_yanked(file),
    }
    if file.size is not None:
        entry["size"] = file.size
    if file.upload_time is not None:
        entry["upload-time"] = format_upload_time(file.upload_time)
    if file.requires_python:
        entry["requires-python"] = file.requires_python
    if file.core_metadata_sha256:
        entry["core-metadata"] = {"sha256": file.core_metadata_sha256}
    if file.provenance_url:
        entry["provenance"] = file.provenance_url
    return entry


def render_index_html(projects: Iterable[str | tuple[str, str]]) -> bytes:
    """Render the root page: one anchor per project, linking to its normalized ``name/``.

    Items are display names, or ``(display name, normalized name)`` pairs when the caller
    already has the normalized form (saves a regex per project).
    """
    parts = [
        "<!DOCTYPE html>\n<html>\n  <head>\n",
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n',
        "    <title>Simple index</title>\n  </head>\n  <body>\n",
    ]
    for project in projects:
        name, normalized = project if isinstance(project, tuple) else (project, normalize(project))
        parts.append(f'    <a href="{escape(normalized)}/">{escape(name)}</a>\n')
    parts.append("  </body>\n</html>\n")
    return "".join(parts).encode("utf-8")


def render_index_json(projects: Iterable[str | tuple[str, str]]) -> bytes:
    """Render the PEP 691 root document: ``projects: [{name}]`` (display names)."""
    names = [project[0] if isinstance(project, tuple) else project for project in projects]
    return _dump({"meta": {"api-version": API_VERSION}, "projects": [{"name": n} for n in names]})


def _dump(document: dict[str, Any]) -> bytes:
    """Compact JSON; ASCII-escaped, which the C encoder writes faster than raw UTF-8."""
    return json.dumps(document, separators=(",", ":")).encode("ascii")


def negotiate(accept: str | None) -> str | None:
    """Choose the response media type for an Accept header (PEP 691), or None for a 406.

    No header means ``*/*``. The highest q-value wins, a more specific range overriding a
    wildcard (RFC 9110); among equals the most expressive format is chosen when the client
    named it (JSON, then v1 HTML, then text/html), while a bare ``*/*`` gets text/html as
    warehouse serves it. ``application/vnd.pypi.simple.latest+json|html`` are accepted as
    aliases of v1.
    """
    # An absent header, or one without a single parsable media range, accepts anything.
    ranges = _parse_accept(accept or "") or [("*/*", 1.0)]
    best: tuple[float, int, int] | None = None
    chosen: str | None = None
    for rank, media_type in enumerate(MEDIA_TYPES):
        quality, specificity = _quality(media_type, ranges)
        if quality <= 0:
            continue
        # Named (or type/*) ranges prefer JSON; a bare */* prefers text/html.
        key = (quality, specificity, -rank if specificity > 0 else rank)
        if best is None or key > best:
            best, chosen = key, media_type
    return chosen


def _parse_accept(header: str) -> list[tuple[str, float]]:
    """Parse an Accept header into ``(media-range, q)`` pairs, skipping malformed entries."""
    ranges: list[tuple[str, float]] = []
    for item in header.split(","):
        media_range, *params = (piece.strip() for piece in item.split(";"))
        if "/" not in media_range:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append((_alias(media_range.lower()), quality))
    return ranges


def _alias(media_range: str) -> str:
    """Map the ``latest`` meta-version onto v1, the only major version there is."""
    return media_range.replace("vnd.pypi.simple.latest+", "vnd.pypi.simple.v1+")


def _quality(media_type: str, ranges: list[tuple[str, float]]) -> tuple[float, int]:
    """The q-value the most specific matching range gives ``media_type``, and that specificity."""
    major = media_type.split("/", 1)[0]
    best_specificity, best_quality = -1, 0.0
    for media_range, quality in ranges:
        if media_range == media_type:
            specificity = 2
        elif media_range == f"{major}/*":
            specificity = 1
        elif media_range == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity or (
            specificity == best_specificity and quality > best_quality
        ):
            best_specificity, best_quality = specificity, quality
    return best_quality, best_specificity
