"""Hostile READMEs render harmlessly, in every format the package page renders."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from artifortress.ui.readme import readme_of, render_markdown, render_pypi, sanitize

SCRIPT = "<script>alert(1)</script>"
HOSTILE_MARKDOWN = f"""
# Title

{SCRIPT}

<img src="x" onerror="alert(1)">
<a href="javascript:alert(1)">click</a>
[md link](javascript:alert(2))
[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
<svg onload="alert(1)"><script>alert(3)</script><a xlink:href="javascript:alert(4)">x</a></svg>
<iframe src="https://evil.example/"></iframe>
<object data="x.swf"></object><embed src="x.swf">
<form action="https://evil.example/"><input name="token"></form>
<style>body {{ display: none }}</style>
<div style="position:fixed;top:0">overlay</div>
<math><mtext><table><mglyph><style><img src=x onerror=alert(5)>
<a href="&#106;avascript:alert(6)">entity</a>
<a href="JaVaScRiPt:alert(7)">case</a>
<meta http-equiv="refresh" content="0;url=https://evil.example/">
<base href="https://evil.example/">
<link rel="stylesheet" href="https://evil.example/x.css">
"""

HOSTILE_RST = f"""
Title
=====

.. raw:: html

   {SCRIPT}

`click <javascript:alert(1)>`_

.. image:: javascript:alert(2)

.. include:: /etc/passwd

<img src=x onerror=alert(3)>
"""

#: Elements a README may produce: none runs script, loads a document or styles the page.
ALLOWED_ELEMENTS = {
    *("a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details"),
    *("div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img"),
    *("kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "summary", "sup"),
    *("table", "tbody", "td", "th", "thead", "tr", "tt", "ul", "var", "input"),
}
SAFE_URL = re.compile(r"^(https?:|mailto:|#|/|[^:]*$)", re.I)


class _Elements(HTMLParser):
    """Every element and attribute of a fragment, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def assert_harmless(rendered: str) -> None:
    parser = _Elements()
    parser.feed(rendered)
    for tag, attrs in parser.found:
        assert tag in ALLOWED_ELEMENTS, (tag, rendered)
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, rendered)
            assert name not in ("style", "srcdoc", "formaction", "xlink:href"), (tag, name)
            if name in ("href", "src", "action", "background"):
                assert SAFE_URL.match((value or "").strip()), (tag, name, value)
    assert "root:x:0:0" not in rendered  # no file inclusion (rst ``include``)


@pytest.mark.parametrize("variant", [None, "GFM", "CommonMark"])
def test_hostile_markdown_description_is_harmless(variant):
    content_type = "text/markdown" + (f"; variant={variant}" if variant else "")
    rendered = render_pypi(HOSTILE_MARKDOWN, content_type)
    assert_harmless(rendered)
    assert "Title" in rendered
    assert "&lt;script&gt;" in rendered or "alert(1)" not in rendered


def test_hostile_rst_description_is_harmless():
    rendered = render_pypi(HOSTILE_RST, "text/x-rst")
    assert_harmless(rendered)


def test_hostile_plain_text_is_escaped():
    rendered = render_pypi(HOSTILE_MARKDOWN, "text/plain")
    assert_harmless(rendered)
    assert "&lt;script&gt;" in rendered


def test_hostile_npm_readme_is_harmless():
    rendered = render_markdown(HOSTILE_MARKDOWN)
    assert_harmless(rendered)


def test_rst_is_the_default_as_on_pypi_and_broken_rst_falls_back_to_text():
    assert "<em>emphasis</em>" in render_pypi("Some *emphasis*.", None)
    broken = render_pypi("Title\n===\n\n`unclosed <http://x", None)
    assert_harmless(broken)
    assert "unclosed" in broken


def test_links_get_rel_noopener_and_keep_safe_urls():
    rendered = render_markdown("[site](https://example.org/) <mailto:a@example.org>")
    assert 'href="https://example.org/"' in rendered
    assert "noopener" in rendered


def test_sanitize_strips_what_readme_renderer_would_let_through():
    assert_harmless(sanitize('<p style="color:red" onclick="x()">a</p><svg><use href="#x"/></svg>'))


def test_readme_of_reads_pypi_and_npm_metadata():
    pypi = {"description": "# Hi <script>x</script>", "description_content_type": "text/markdown"}
    assert "<h1" in readme_of("pypi", pypi)
    assert_harmless(readme_of("pypi", pypi))
    npm = {"readme": "**bold** <img src=x onerror=alert(1)>", "readme_filename": "README.md"}
    assert "<strong>bold</strong>" in readme_of("npm", npm)
    assert_harmless(readme_of("npm", npm))
    assert readme_of("generic", {}) == ""
    assert readme_of("pypi", {"description": 42}) == ""
