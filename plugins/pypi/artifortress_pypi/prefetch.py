"""What ``artifortress remote prefetch`` fetches for PyPI: the files of pinned requirements.

A subset of pip's requirements syntax: ``name==version`` lines, with extras,
environment markers, ``--hash`` options and ``\\`` continuations accepted
(and ignored: every file of the version is fetched, whatever the platform);
other option lines (``-r``, ``--index-url``...) are skipped; a requirement
that pins no version is refused, naming its line.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import unquote, urlsplit

from packaging.version import InvalidVersion, Version

from artifortress.plugin import BadRequest, Prefetch
from artifortress_pypi.errors import PypiError
from artifortress_pypi.filenames import parse_filename
from artifortress_pypi.names import normalize

JSON_PAGE = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
_PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*==\s*([^\s;,]+)\s*(;.*)?$")
_HREF = re.compile(r"""<a\s[^>]*href=["']([^"']+)["']""", re.IGNORECASE)


def requirements(text: str) -> Iterator[Prefetch]:
    """The project page of each pinned requirement, then the files of its version."""
    for number, line in _logical_lines(text):
        match = _PINNED.match(line)
        if match is None:
            raise BadRequest(f"line {number}: {line!r} pins no version (name==version)")
        name, version = match.group(1), match.group(3)
        try:
            pinned = Version(version)
        except InvalidVersion:
            raise BadRequest(f"line {number}: {version!r} is not a version") from None
        yield Prefetch(f"simple/{normalize(name)}/", accept=JSON_PAGE, links=_files_of(pinned))


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Requirement lines with their number: continuations joined, comments and options gone."""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        start = start or number
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line = (pending + raw).split(" #", 1)[0].split(" --", 1)[0].strip()
        pending, first = "", start
        start = 0
        if line and not line.startswith(("#", "-")):
            yield first, line


def _files_of(version: Version) -> Callable[[bytes], Iterable[str]]:
    """Picks, from a project page (PEP 691 JSON or PEP 503 HTML), the URLs of *version*'s files."""

    def links(page: bytes) -> list[str]:
        return [url for url in _urls(page) if _version_of(url) == version]

    return links


def _urls(page: bytes) -> list[str]:
    try:
        doc = json.loads(page)
    except ValueError:
        return [html.unescape(href) for href in _HREF.findall(page.decode("utf-8", "replace"))]
    return [str(entry["url"]) for entry in doc.get("files", []) if "url" in entry]


def _version_of(url: str) -> Version | None:
    filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    try:
        return parse_filename(filename).version
    except PypiError:
        return None  # not a distribution this index serves
