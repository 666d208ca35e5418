"""Pinned requirements into what `artifortress remote prefetch` fetches (PyPI)."""

from __future__ import annotations

import json

import pytest
from artifortress_pypi.prefetch import JSON_PAGE, requirements

from artifortress.plugin import BadRequest

TEXT = """\
# a comment
--index-url https://example.invalid/simple/
Requests[socks]==2.31.0 ; python_version >= "3.8"  # trailing comment
zope.interface==6.0 \\
    --hash=sha256:aaaa \\
    --hash=sha256:bbbb

-r other.txt
"""


def test_each_pinned_requirement_asks_for_its_project_page():
    items = list(requirements(TEXT))
    assert [item.path for item in items] == ["simple/requests/", "simple/zope-interface/"]
    assert {item.accept for item in items} == {JSON_PAGE}


def test_the_page_links_followed_are_the_files_of_the_pinned_version():
    (item,) = requirements("requests==2.31.0\n")
    page = {
        "files": [
            {
                "filename": "requests-2.31.0.tar.gz",
                "url": "../../files/requests/2.31.0/requests-2.31.0.tar.gz",
            },
            {
                "filename": "requests-2.31.0-py3-none-any.whl",
                "url": "https://gw/pypi/r/files/x/requests-2.31.0-py3-none-any.whl#sha256=ab",
            },
            {
                "filename": "requests-2.30.0.tar.gz",
                "url": "../../files/requests/2.30.0/requests-2.30.0.tar.gz",
            },
        ]
    }
    assert item.links is not None
    assert item.links(json.dumps(page).encode()) == [
        page["files"][0]["url"],
        page["files"][1]["url"],
    ]


def test_an_html_page_is_read_too():
    (item,) = requirements("requests==2.31\n")
    page = (
        b'<a href="../../files/requests-2.31.0.tar.gz#sha256=ab">requests-2.31.0.tar.gz</a>'
        b'<a href="../../files/requests-2.32.0.tar.gz">requests-2.32.0.tar.gz</a>'
    )
    assert item.links is not None
    assert list(item.links(page)) == ["../../files/requests-2.31.0.tar.gz#sha256=ab"]


@pytest.mark.parametrize("line", ["requests>=2", "requests", "requests==not a version"])
def test_a_requirement_without_a_pinned_version_is_refused_naming_its_line(line):
    with pytest.raises(BadRequest, match="line 2"):
        list(requirements(f"six==1.16.0\n{line}\n"))
