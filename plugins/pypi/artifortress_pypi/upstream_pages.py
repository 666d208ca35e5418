"""An upstream index's project page (PEP 503 HTML or PEP 691 JSON) as the files it lists.

What a remote repository needs of each file: its name, absolute URL and
sha256, plus what clients read before downloading (``requires-python``,
yanking with its reason, the PEP 658/714 core metadata hash, PEP 700 size and
upload time). A file the gateway could not serve safely is left out: one
without a sha256 (nothing to verify its bytes against) or with a name that no
distribution has (path separators, ``..``, odd characters). A core metadata
announcement without a sha256 (``data-core-metadata="true"``) is dropped for
the same reason: clients then read the metadata from the wheel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any, Final
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from .errors import PypiError
from .filenames import is_safe_filename
from .simple import JSON, DistFile

_HEX64 = re.compile(r"[0-9a-f]{64}")

#: What a remote asks its upstream for: PEP 691 JSON, HTML where that is all there is.
ACCEPT: Final = f"{JSON}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"


@dataclass(frozen=True, slots=True)
class UpstreamPage:
    """The files of an upstream project page (absolute URLs); its versions from PEP 700 JSON."""

    files: tuple[DistFile, ...]
    versions: tuple[str, ...] | None = None


def parse_page(body: bytes, content_type: str, url: str) -> UpstreamPage:
    """Parse the page fetched from *url*; PypiError (502) if it is neither JSON nor HTML."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type.endswith("json"):
        return _parse_json(body, url)
    if "html" in media_type or not media_type:
        return _parse_html(body, url)
    raise PypiError(f"the upstream answered {media_type!r} for {url}, not an index page", 502)


# -- PEP 691 JSON -----------------------------------------------------------------------------


def _parse_json(body: bytes, url: str) -> UpstreamPage:
    try:
        document = json.loads(body)
        entries = document["files"]
        if not isinstance(entries, list):
            raise TypeError(f"'files' is {type(entries).__name__}, not a list")
    except (ValueError, TypeError, KeyError) as exc:
        raise PypiError(f"the upstream page {url} is not PEP 691 JSON ({exc})", 502) from None
    files = tuple(f for f in (_json_file(e, url) for e in entries) if f is not None)
    versions = document.get("versions")
    if isinstance(versions, list) and all(isinstance(v, str) for v in versions):
        return UpstreamPage(files, tuple(versions))
    return UpstreamPage(files)


def _json_file(entry: Any, page_url: str) -> DistFile | None:
    if not isinstance(entry, dict):
        return None
    filename, href = entry.get("filename"), entry.get("url")
    sha256 = _sha256(entry.get("hashes"))
    if not isinstance(filename, str) or not isinstance(href, str) or sha256 is None:
        return None
    if not is_safe_filename(filename):
        return None
    metadata = entry.get("core-metadata", entry.get("dist-info-metadata"))
    requires_python = entry.get("requires-python")
    size = entry.get("size")
    provenance = entry.get("provenance")
    return DistFile(
        filename=filename,
        url=_absolute(page_url, href),
        sha256=sha256,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        upload_time=_upload_time(entry.get("upload-time")),
        requires_python=requires_python if isinstance(requires_python, str) else None,
        yanked=_json_yanked(entry.get("yanked")),
        core_metadata_sha256=_sha256(metadata),
        provenance_url=_absolute(page_url, provenance) if isinstance(provenance, str) else None,
    )


def _absolute(page_url: str, href: str) -> str:
    """*href* resolved against the page (PyPI's are absolute already: urljoin is slow)."""
    if href.startswith(("https://", "http://")):
        return href
    return urljoin(page_url, href)


def _sha256(hashes: Any) -> str | None:
    """The lower-case hex sha256 of a PEP 691 hashes mapping, if it has a well-formed one."""
    if not isinstance(hashes, Mapping):
        return None
    value = hashes.get("sha256")
    return _hex64(value) if isinstance(value, str) else None


def _hex64(value: str) -> str | None:
    value = value.strip().lower()
    return value if _HEX64.fullmatch(value) else None


def _json_yanked(value: Any) -> bool | str:
    if isinstance(value, str):
        return value or True  # a reason; an empty one still means yanked
    return value is True


def _upload_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# -- PEP 503 HTML -----------------------------------------------------------------------------


class _Anchors(HTMLParser):
    """The attributes and text of every ``<a>`` (entities decoded, as pip reads them)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open, self._text = dict(attrs), []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.anchors.append((self._open, "".join(self._text).strip()))
            self._open = None


def _parse_html(body: bytes, url: str) -> UpstreamPage:
    parser = _Anchors()
    parser.feed(body.decode("utf-8", errors="replace"))
    parser.close()
    files = (_html_file(attrs, text, url) for attrs, text in parser.anchors)
    return UpstreamPage(tuple(f for f in files if f is not None))


def _html_file(attrs: dict[str, str | None], text: str, page_url: str) -> DistFile | None:
    href = attrs.get("href")
    if not href:
        return None
    target, fragment = urldefrag(urljoin(page_url, href))
    algorithm, _, value = fragment.partition("=")
    sha256 = _hex64(value) if algorithm == "sha256" else None
    filename = text or unquote(urlsplit(target).path.rsplit("/", 1)[-1])
    if sha256 is None or not is_safe_filename(filename):
        return None
    metadata = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
    yanked = attrs.get("data-yanked")
    return DistFile(
        filename=filename,
        url=target,
        sha256=sha256,
        size=None,
        upload_time=None,
        requires_python=attrs.get("data-requires-python") or None,
        yanked=False if "data-yanked" not in attrs else (yanked or True),
        core_metadata_sha256=_metadata_sha256(metadata),
    )


def _metadata_sha256(value: str | None) -> str | None:
    """``sha256=<hex>`` of a PEP 658/714 attribute; ``true`` or another hash gives None."""
    if not value:
        return None
    algorithm, _, digest = value.partition("=")
    return _hex64(digest) if algorithm.strip().lower() == "sha256" else None
