"""The PyPI JSON API documents (poetry, Dependabot) and the latest-version choice."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from artifortress_pypi.metadata import parse_metadata
from artifortress_pypi.pypi_json import Release, latest_version, render_project, render_release
from artifortress_pypi.simple import DistFile

WHEN = datetime(2024, 5, 6, 7, 8, 9, 120000, tzinfo=UTC)
META = parse_metadata(
    b"Metadata-Version: 2.4\nName: Foo.Bar\nVersion: 1.0\nSummary: S\nKeywords: a,b\n"
    b"Requires-Python: >=3.8\nRequires-Dist: requests>=2\nLicense-Expression: MIT\n"
    b"Project-URL: Home, https://example.org\nAuthor-email: a@example.org\n\nLong text\n"
)


def file(filename: str, **overrides: object) -> DistFile:
    values: dict[str, object] = {
        "filename": filename,
        "url": f"https://h/files/{filename}",
        "sha256": "a" * 64,
        "size": 10,
        "upload_time": WHEN,
        "requires_python": ">=3.8",
        "md5": "b" * 32,
    }
    values.update(overrides)
    return DistFile(**values)


def release(version: str, *yanked: bool | str) -> Release:
    files = [file(f"foo_bar-{version}.tar.gz", yanked=flag) for flag in yanked or (False,)]
    return Release(version, files, META if version == "1.0" else None)


def test_release_document() -> None:
    wheel = file("foo_bar-1.0-py3-none-any.whl", blake2_256="c" * 64)
    rel = Release("1.0", [wheel, file("foo_bar-1.0.tar.gz", md5=None)], META)
    doc = json.loads(render_release("foo-bar", rel, project_url="https://h/project/foo-bar/"))
    assert "releases" not in doc
    info = doc["info"]
    assert (info["name"], info["version"], info["summary"]) == ("Foo.Bar", "1.0", "S")
    assert info["requires_dist"] == ["requests>=2"]
    assert info["requires_python"] == ">=3.8"
    assert info["keywords"] == "a,b"
    assert info["license_expression"] == "MIT"
    assert info["project_urls"] == {"Home": "https://example.org"}
    assert info["description"] == "Long text\n"
    assert info["release_url"] == "https://h/project/foo-bar/1.0/"
    assert (info["yanked"], info["yanked_reason"]) == (False, None)
    whl, sdist = doc["urls"]
    assert whl["digests"] == {"sha256": "a" * 64, "md5": "b" * 32, "blake2b_256": "c" * 64}
    assert (whl["packagetype"], whl["python_version"]) == ("bdist_wheel", "py3")
    assert (whl["upload_time"], whl["upload_time_iso_8601"]) == (
        "2024-05-06T07:08:09",
        "2024-05-06T07:08:09.120000Z",
    )
    assert (sdist["packagetype"], sdist["python_version"]) == ("sdist", "source")
    assert sdist["digests"] == {"sha256": "a" * 64}
    assert sdist["md5_digest"] is None
    assert doc["vulnerabilities"] == []


def test_project_document_lists_every_release() -> None:
    releases = [release("1.0"), release("2.0b1"), release("0.9", "bad build")]
    latest = latest_version(releases)
    assert latest is not None
    doc = json.loads(render_project("foo-bar", latest, releases))
    assert doc["info"]["version"] == "1.0"
    assert set(doc["releases"]) == {"1.0", "2.0b1", "0.9"}
    [old] = doc["releases"]["0.9"]
    assert (old["yanked"], old["yanked_reason"]) == (True, "bad build")
    assert doc["urls"][0]["filename"] == "foo_bar-1.0.tar.gz"


def test_release_without_metadata_still_renders() -> None:
    doc = json.loads(render_release("foo-bar", release("2.0b1")))
    assert (doc["info"]["name"], doc["info"]["version"]) == ("foo-bar", "2.0b1")
    assert doc["info"]["requires_dist"] is None


def test_yanked_release_info() -> None:
    doc = json.loads(render_release("foo-bar", release("1.0", "oops", True)))
    assert (doc["info"]["yanked"], doc["info"]["yanked_reason"]) == (True, "oops")
    partly = json.loads(render_release("foo-bar", release("1.0", "oops", False)))
    assert partly["info"]["yanked"] is False


def latest_of(*releases: Release) -> str | None:
    pick = latest_version(releases)
    return pick.version if pick else None


def test_latest_version_rules() -> None:
    assert latest_of() is None
    assert latest_of(release("1.0"), release("1.10"), release("1.9"), release("2.0rc1")) == "1.10"
    assert latest_of(release("1.0", True), release("0.9")) == "0.9"
    assert latest_of(release("2.0a1"), release("1.0", True)) == "2.0a1"
    assert latest_of(release("1.0", True), release("2.0", True)) == "2.0"
    assert latest_of(release("not-a-version"), release("0.1")) == "0.1"
