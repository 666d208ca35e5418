"""A package's README as safe HTML: rendered as PyPI renders it, then sanitized again.

PyPI (``description_content_type``): ``text/x-rst`` (also when missing),
``text/markdown`` with ``variant=GFM`` (default) or ``CommonMark``, and
``text/plain``; an rst description that fails to render shows as plain text,
as on pypi.org (readme_renderer does the rendering).  npm: the ``readme`` is
GitHub-flavoured markdown unless its file name says plain text.

readme_renderer already sanitizes with nh3; a second nh3 pass with a stricter
allow-list (no ``class`` or ``id`` the page's own styles could be hijacked with
beyond code highlighting, only http(s)/mailto links, ``rel=noopener``) is the
UI's own guarantee, whatever a future readme_renderer allows.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Mapping
from typing import Any

import nh3
from readme_renderer import markdown, rst, txt

#: Longer READMEs are cut before rendering: rendering time grows with them.
MAX_README = 512 * 1024

_TAGS = {
    *("a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details"),
    *("div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img"),
    *("kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "summary", "sup"),
    *("table", "tbody", "td", "th", "thead", "tr", "tt", "ul", "var", "input"),
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height", "title"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "code": {"class"},
    "pre": {"class"},
    "span": {"class"},
    "input": {"type", "checked", "disabled"},
    "*": {"id"},
}
_SCHEMES = {"http", "https", "mailto"}


#: Heading anchors the markdown renderer adds: links without text, which screen readers
#: announce as nameless links (the heading itself keeps its id).
_EMPTY_LINK = re.compile(r"<a [^>]*></a>")
#: An image its author gave no text: marked decorative, so screen readers skip it
#: instead of reading its file name.
_IMG_WITHOUT_ALT = re.compile(r"<img (?![^>]*\balt=)")


def sanitize(fragment: str) -> str:
    """*fragment* with nothing that runs script, loads from unsafe schemes or escapes its box."""
    cleaned = nh3.clean(
        fragment,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="nofollow noopener noreferrer ugc",
        strip_comments=True,
    )
    return _IMG_WITHOUT_ALT.sub('<img alt="" ', _EMPTY_LINK.sub("", cleaned))


def parse_content_type(value: str | None) -> tuple[str, dict[str, str]]:
    """``text/markdown; variant=GFM`` -> (``text/markdown``, ``{"variant": "GFM"}``)."""
    media, *params = (value or "").split(";")
    options = {}
    for param in params:
        key, _, val = param.partition("=")
        options[key.strip().lower()] = val.strip().strip('"')
    return media.strip().lower(), options


def render_pypi(text: str, content_type: str | None) -> str:
    """A PyPI description as pypi.org renders it (readme_renderer), sanitized."""
    media, options = parse_content_type(content_type)
    return _render(text[:MAX_README], media or "text/x-rst", options.get("variant") or "GFM")


def render_markdown(text: str) -> str:
    """npm's readme: GitHub-flavoured markdown, sanitized."""
    return _render(text[:MAX_README], "text/markdown", "GFM")


def render_plain(text: str) -> str:
    return _render(text[:MAX_README], "text/plain", "")


@functools.lru_cache(maxsize=128)
def _render(text: str, media: str, variant: str) -> str:
    rendered: str | None = None
    if media == "text/markdown":
        rendered = markdown.render(text, variant=variant if variant == "CommonMark" else "GFM")
    elif media == "text/x-rst":
        rendered = rst.render(text)
    if rendered is None:  # plain text, or a description its renderer refused
        rendered = txt.render(text) or f"<pre>{html.escape(text)}</pre>"
    return sanitize(rendered)


def readme_of(format: str, metadata: Mapping[str, Any]) -> str:
    """The rendered README of a version's *metadata* ("" when it has none).

    The core reads the common keys, as its search indexing does: PyPI core
    metadata (``description``, ``description_content_type``) and npm records
    (``readme``, ``readme_filename``).
    """
    readme = metadata.get("readme")
    if isinstance(readme, str) and readme.strip():
        name = str(metadata.get("readme_filename") or "").lower()
        return render_plain(readme) if name.endswith(".txt") else render_markdown(readme)
    description = metadata.get("description")
    if not isinstance(description, str) or not description.strip():
        return ""
    if format == "pypi":
        content_type = metadata.get("description_content_type")
        return render_pypi(description, content_type if isinstance(content_type, str) else None)
    return render_plain(description)
