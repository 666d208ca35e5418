"""Simple repository API rendering (HTML and JSON), content negotiation, and render speed."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from artifortress_pypi.simple import (
    API_VERSION,
    HTML,
    JSON,
    TEXT_HTML,
    DistFile,
    ProjectPage,
    format_upload_time,
    negotiate,
    project_json,
    render_index_html,
    render_index_json,
    render_project_html,
    render_project_json,
)

WHEN = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
SHA = "a" * 64
META_SHA = "b" * 64


def dist(**overrides: object) -> DistFile:
    values: dict[str, object] = {
        "filename": "foo_bar-1.0-py3-none-any.whl",
        "url": "../../files/foo_bar-1.0-py3-none-any.whl",
        "sha256": SHA,
        "size": 1234,
        "upload_time": WHEN,
    }
    values.update(overrides)
    return DistFile(**values)


class Anchors(HTMLParser):
    """Collect every anchor's attributes (unescaped, as pip sees them) and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self.meta: dict[str, str | None] = {}
        self._open: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open = dict(attrs)
        if tag == "meta":
            self.meta = dict(attrs)

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.anchors.append((self._open, data))
            self._open = None


def anchors(html: bytes) -> Anchors:
    parser = Anchors()
    parser.feed(html.decode("utf-8"))
    return parser


def test_project_html_plain_file() -> None:
    page = ProjectPage("foo-bar", [dist()], ["1.0"])
    parsed = anchors(render_project_html(page))
    assert parsed.meta == {"name": "pypi:repository-version", "content": API_VERSION}
    [(attrs, text)] = parsed.anchors
    assert attrs == {"href": f"../../files/foo_bar-1.0-py3-none-any.whl#sha256={SHA}"}
    assert text == "foo_bar-1.0-py3-none-any.whl"


def test_project_html_every_attribute_escaped() -> None:
    file = dist(
        url="https://h/f?a=1&b=<2>",
        requires_python='>=3.8,<4,!="3.9"',
        yanked='bad <release> & "quoted"',
        core_metadata_sha256=META_SHA,
        provenance_url="https://h/f.whl.provenance?x=1&y=2",
        filename="foo_bar-1.0-py3-none-any.whl",
    )
    html = render_project_html(ProjectPage("foo-bar", [file], ["1.0"]))
    assert b'data-requires-python="&gt;=3.8,&lt;4,!=&quot;3.9&quot;"' in html
    assert b"<4" not in html
    [(attrs, _)] = anchors(html).anchors
    assert attrs["href"] == f"https://h/f?a=1&b=<2>#sha256={SHA}"
    assert attrs["data-requires-python"] == '>=3.8,<4,!="3.9"'
    assert attrs["data-yanked"] == 'bad <release> & "quoted"'
    assert attrs["data-core-metadata"] == f"sha256={META_SHA}"
    assert attrs["data-dist-info-metadata"] == f"sha256={META_SHA}"
    assert attrs["data-provenance"] == "https://h/f.whl.provenance?x=1&y=2"


@pytest.mark.parametrize(("yanked", "expected"), [(True, ""), ("", ""), ("why", "why")])
def test_project_html_yanked_without_reason(yanked: bool | str, expected: str) -> None:
    [(attrs, _)] = anchors(render_project_html(ProjectPage("x", [dist(yanked=yanked)], []))).anchors
    assert attrs["data-yanked"] == expected


def test_project_json_document() -> None:
    files = [
        dist(requires_python=">=3.8", core_metadata_sha256=META_SHA,
             provenance_url="https://h/p.provenance", yanked="broken"),
        dist(filename="foo_bar-1.0.tar.gz", url="f.tar.gz", yanked=True),
        dist(filename="foo_bar-1.1.tar.gz", url="g.tar.gz"),
    ]  # fmt: skip
    document = json.loads(render_project_json(ProjectPage("foo-bar", files, ["1.0", "1.1"])))
    assert document["meta"] == {"api-version": API_VERSION}
    assert (document["name"], document["versions"]) == ("foo-bar", ["1.0", "1.1"])
    first, second, third = document["files"]
    assert first == {
        "filename": "foo_bar-1.0-py3-none-any.whl",
        "url": "../../files/foo_bar-1.0-py3-none-any.whl",
        "hashes": {"sha256": SHA},
        "size": 1234,
        "upload-time": "2024-05-06T07:08:09.123456Z",
        "yanked": "broken",
        "requires-python": ">=3.8",
        "core-metadata": {"sha256": META_SHA},
        "provenance": "https://h/p.provenance",
    }
    assert second["yanked"] is True
    assert third["yanked"] is False
    assert "requires-python" not in third
    assert "core-metadata" not in third
    assert b"dist-info-metadata" not in render_project_json(ProjectPage("x", files, []))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "2024-01-02T03:04:05.000000Z"),
        (datetime(2024, 1, 2, 3, 4, 5, 7), "2024-01-02T03:04:05.000007Z"),
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
         "2024-01-02T01:04:05.000000Z"),
    ],
)  # fmt: skip
def test_upload_time_format(moment: datetime, expected: str) -> None:
    assert format_upload_time(moment) == expected


def test_fast_json_equals_the_dict_document() -> None:
    """The hand-written JSON text is exactly the ``project_json`` document."""
    files = [
        dist(),
        dist(yanked=True, requires_python='<4,"odd\\"', provenance_url="p\u2028q"),
        dist(yanked="naïve ✓\n", core_metadata_sha256=META_SHA, size=0),
        dist(yanked=""),
    ]
    page = ProjectPage("foo-bar", files, ["1.0", 'x"y'])
    assert json.loads(render_project_json(page)) == project_json(page)
    assert json.loads(render_project_json(ProjectPage("e", [], []))) == project_json(
        ProjectPage("e", [], [])
    )


def test_non_ascii_survives_json_escaping() -> None:
    document = json.loads(render_project_json(ProjectPage("x", [dist(yanked="naïve ✓")], [])))
    assert document["files"][0]["yanked"] == "naïve ✓"


def test_index_accepts_normalized_pairs() -> None:
    assert json.loads(render_index_json([("Foo.Bar", "foo-bar")]))["projects"] == [
        {"name": "Foo.Bar"}
    ]
    assert b'<a href="foo-bar/">Foo.Bar</a>' in render_index_html([("Foo.Bar", "foo-bar")])


def test_index_html_and_json() -> None:
    names = ["Foo.Bar", "zope.interface", "a&b"]
    parsed = anchors(render_index_html(names))
    assert parsed.meta["content"] == API_VERSION
    assert parsed.anchors == [
        ({"href": "foo-bar/"}, "Foo.Bar"),
        ({"href": "zope-interface/"}, "zope.interface"),
        ({"href": "a&b/"}, "a&b"),
    ]
    document = json.loads(render_index_json(names))
    assert document == {
        "meta": {"api-version": API_VERSION},
        "projects": [{"name": "Foo.Bar"}, {"name": "zope.interface"}, {"name": "a&b"}],
    }


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, TEXT_HTML),
        ("", TEXT_HTML),
        ("*/*", TEXT_HTML),
        ("text/html", TEXT_HTML),
        ("text/*", TEXT_HTML),
        ("application/*", JSON),
        (f"{JSON}, {HTML};q=0.1, {TEXT_HTML};q=0.01", JSON),  # pip
        (f"{JSON}, {HTML};q=0.2, {TEXT_HTML};q=0.01", JSON),  # PEP 691 example
        (f"{HTML}, {TEXT_HTML};q=0.01", HTML),
        (f"{TEXT_HTML}, {JSON}", JSON),  # equal q: the most expressive format
        (f"{TEXT_HTML}, {JSON};q=0.5", TEXT_HTML),
        (f"{JSON};q=0, */*", TEXT_HTML),
        (f"{JSON};q=0, {HTML};q=0, */*;q=0.1", TEXT_HTML),
        (f"{JSON}, */*;q=0.1", JSON),
        ("application/vnd.pypi.simple.latest+json", JSON),
        ("application/vnd.pypi.simple.latest+html", HTML),
        ("Application/VND.pypi.simple.V1+JSON", JSON),
        (f"{JSON};q=0.5;level=1, {HTML};q=0.4", JSON),
        ("application/json", None),
        ("application/vnd.pypi.simple.v2+json", None),
        (f"{JSON};q=0", None),
        ("*/*;q=0", None),
        ("garbage", TEXT_HTML),
        (f"{JSON};q=bogus, {HTML}", HTML),
    ],
)
def test_negotiate(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


def big_page(count: int = 1000) -> ProjectPage:
    files = [
        dist(filename=f"foo_bar-{i}.0-py3-none-any.whl", url=f"../../files/{i}/f.whl",
             sha256=f"{i:064x}", size=i, upload_time=WHEN + timedelta(seconds=i),
             requires_python=">=3.8,<4", core_metadata_sha256=META_SHA,
             yanked="old" if i % 10 == 0 else False)
        for i in range(count)
    ]  # fmt: skip
    return ProjectPage("foo-bar", files, [f"{i}.0" for i in range(count)])


def best_of(function: object, repeat: int = 7) -> float:
    """Best wall time of several runs, in milliseconds."""
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()  # type: ignore[operator]
        timings.append((time.perf_counter() - start) * 1000)
    return min(timings)


def test_render_speed_1000_files_and_5000_projects() -> None:
    """A 1,000-file page and a 5,000-project index render in a few milliseconds."""
    page = big_page()
    names = [f"Project_{i}.Name" for i in range(5000)]
    pairs = [(name, name.replace("_", "-").replace(".", "-").lower()) for name in names]
    pairs_ms = best_of(lambda: render_index_html(pairs))
    assert render_index_html(pairs) == render_index_html(names)
    html_ms = best_of(lambda: render_project_html(page))
    json_ms = best_of(lambda: render_project_json(page))
    index_html_ms = best_of(lambda: render_index_html(names))
    index_json_ms = best_of(lambda: render_index_json(names))
    print(f"\nrender 1000 files: html {html_ms:.2f} ms, json {json_ms:.2f} ms; "
          f"5000 projects: html {index_html_ms:.2f} ms ({pairs_ms:.2f} ms pre-normalized), "
          f"json {index_json_ms:.2f} ms")  # fmt: skip
    assert len(anchors(render_project_html(page)).anchors) == 1000
    assert len(json.loads(render_project_json(page))["files"]) == 1000
    # Generous bounds: a shared CI core is slower than a workstation, never 10x.
    assert html_ms < 50
    assert json_ms < 50
    assert index_html_ms < 100
    assert index_json_ms < 50
