"""Reading an upstream's project page (PEP 503 HTML, PEP 691 JSON) and naming its versions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from artifortress_pypi.errors import PypiError
from artifortress_pypi.filenames import UNPARSED_VERSION, version_key
from artifortress_pypi.listings import Listing, merged
from artifortress_pypi.simple import DistFile
from artifortress_pypi.upstream_pages import parse_page

PAGE = "https://pypi.example/simple/foo/"
SHA = "a" * 64
META = "b" * 64


def test_html_anchors_keep_hashes_python_yanks_and_core_metadata():
    body = f"""<!DOCTYPE html><html><body>
    <a href="../../files/foo-1.0-py3-none-any.whl#sha256={SHA.upper()}"
       data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256={META}"
       >foo-1.0-py3-none-any.whl</a><br/>
    <a href="https://files.example/f/foo-0.9.tar.gz#sha256={SHA}" data-yanked="">foo-0.9.tar.gz</a>
    <a href="https://files.example/f/foo-0.8.tar.gz#sha256={SHA}" data-yanked="bad &amp; old"
       data-core-metadata="true">foo-0.8.tar.gz</a>
    </body></html>""".encode()
    page = parse_page(body, "text/html; charset=utf-8", PAGE)
    wheel, yanked, reason = page.files
    assert wheel.url == "https://pypi.example/files/foo-1.0-py3-none-any.whl"
    assert (wheel.sha256, wheel.requires_python, wheel.yanked) == (SHA, ">=3.8", False)
    assert wheel.core_metadata_sha256 == META
    assert (wheel.size, wheel.upload_time) == (None, None)
    assert yanked.yanked is True
    assert reason.yanked == "bad & old"
    assert reason.core_metadata_sha256 is None  # "true" has nothing to verify against
    assert page.versions is None


def test_files_the_gateway_could_not_serve_safely_are_left_out():
    body = f"""
    <a href="/f/foo-1.0.tar.gz#md5={"c" * 32}">foo-1.0.tar.gz</a>
    <a href="/f/foo-1.1.tar.gz">foo-1.1.tar.gz</a>
    <a href="/f/x#sha256={SHA}">../../etc/passwd</a>
    <a href="/f/foo-1.2.tar.gz#sha256=short">foo-1.2.tar.gz</a>
    <a href="/f/foo-1.3.tar.gz#sha256={SHA}">foo-1.3.tar.gz</a>
    """.encode()
    assert [f.filename for f in parse_page(body, "text/html", PAGE).files] == ["foo-1.3.tar.gz"]


def test_pep691_json_with_pep700_fields():
    document = {
        "meta": {"api-version": "1.1"},
        "name": "foo",
        "versions": ["1.0", "2.0"],
        "files": [
            {
                "filename": "foo-1.0.tar.gz",
                "url": "/files/foo-1.0.tar.gz",
                "hashes": {"sha256": SHA, "md5": "c" * 32},
                "requires-python": ">=3.9",
                "size": 123,
                "upload-time": "2024-05-06T07:08:09.123456Z",
                "yanked": "security",
                "core-metadata": {"sha256": META},
            },
            {"filename": "foo-2.0.tar.gz", "url": "x", "hashes": {"md5": "c" * 32}},
            {"filename": "foo-2.1.tar.gz", "url": "y", "hashes": {"sha256": SHA}, "yanked": True},
        ],
    }
    page = parse_page(json.dumps(document).encode(), "application/vnd.pypi.simple.v1+json", PAGE)
    first, last = page.files
    assert first.url == "https://pypi.example/files/foo-1.0.tar.gz"
    assert (first.size, first.yanked, first.core_metadata_sha256) == (123, "security", META)
    assert first.upload_time == datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    assert last.yanked is True
    assert last.url == "https://pypi.example/simple/foo/y"
    assert page.versions == ("1.0", "2.0")


def test_a_page_that_is_no_index_page_is_a_502():
    with pytest.raises(PypiError) as raised:
        parse_page(b"{", "application/vnd.pypi.simple.v1+json", PAGE)
    assert raised.value.status == 502
    for files in (b"null", b"5", b'{"a": 1}', b'"foo-1.0.tar.gz"'):  # a hostile upstream's
        with pytest.raises(PypiError) as raised:
            parse_page(b'{"files": ' + files + b"}", "application/vnd.pypi.simple.v1+json", PAGE)
        assert raised.value.status == 502
    with pytest.raises(PypiError):
        parse_page(b"\x89PNG", "image/png", PAGE)


@pytest.mark.parametrize(
    ("filename", "version"),
    [
        ("requests-2.32.3-py3-none-any.whl", "2.32.3"),
        ("Foo.Bar-1.0RC1.tar.gz", "1.0rc1"),
        ("foo_bar-1.0.zip", "1.0"),
        ("foo_bar-0.9-py2.7.egg", "0.9"),
        ("foo-bar-2.0.tar.bz2", "2.0"),
        ("foo_bar-1.0.win32.exe", UNPARSED_VERSION),
        ("something-else.tar.gz", UNPARSED_VERSION),
        ("foo_bar.rpm", UNPARSED_VERSION),
    ],
)
def test_version_keys(filename, version):
    assert version_key("foo-bar", filename) == version


def _listing(*names: str, when: int) -> Listing:
    files = [DistFile(n, f"u/{n}", SHA, None, None) for n in names]
    versions = [n.split("-")[1].removesuffix(".tar.gz") for n in names]
    return Listing(files, versions, datetime(2024, 1, when, tzinfo=UTC))


def test_merged_listings_keep_the_first_of_a_filename_and_unite_versions():
    first = _listing("a-1.0.tar.gz", when=2)
    second = _listing("a-1.0.tar.gz", "a-2.0.tar.gz", when=3)
    both = merged([first, second])
    assert [f.url for f in both.files] == ["u/a-1.0.tar.gz", "u/a-2.0.tar.gz"]
    assert both.files[0] is first.files[0]
    assert list(both.versions) == ["1.0", "2.0"]
    assert both.changed_at == second.changed_at
