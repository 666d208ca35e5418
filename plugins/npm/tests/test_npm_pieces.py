"""Packuments rebuilt from kept per-version pieces are the packuments built whole.

A publish, a deprecation, a retag or an unpublish changes the package; the
next packument is rebuilt from the pieces kept per version
(``artifortress_npm.pieces``) plus what changed. It must be, byte for byte,
the document built from every version (``?write=true`` builds that one), in
a warm process and a cold one.
"""

from __future__ import annotations

import json

import pytest
from artifortress_npm import pieces, stored
from artifortress_npm.packument import abbreviate_document
from test_npm_http import body, put, tarball

CORGI = "application/vnd.npm.install-v1+json"


@pytest.fixture(autouse=True)
def never_whole(monkeypatch):
    """The stored forms here always come from the pieces (``?write=true`` builds whole)."""

    def whole(*_args, **_kwargs):
        raise AssertionError("a stored packument was built whole")

    monkeypatch.setattr(stored, "build_packument", whole)


@pytest.fixture
def demo(admin, make_repo):
    """``demo`` 1.0.0, 1.0.1 and 1.0.2 (latest) in ``js``; a packument read after each."""
    make_repo("js", format="npm")
    for version in ("1.0.0", "1.0.1", "1.0.2"):
        doc = body("demo", version, tarball("demo", version))
        doc["versions"][version]["description"] = f"demo {version}"
        assert put(admin, "demo", json.dumps(doc).encode()).status_code == 201
        assert admin.get("/npm/js/demo").status_code == 200


def put_document(api, path: str, document: dict):
    answer = api.client.simulate_request(
        "PUT",
        f"/npm/js/{path}",
        headers=api.headers({"Content-Type": "application/json"}),
        body=json.dumps(document).encode(),
    )
    assert answer.status_code in (200, 201), answer.text


def assert_as_built_whole(admin) -> None:
    """Both stored forms equal the document built from every version, now."""
    whole = admin.get("/npm/js/demo?write=true")
    assert admin.get("/npm/js/demo").content == whole.content
    abbreviated = admin.get("/npm/js/demo", headers={"Accept": CORGI})
    assert abbreviated.json == abbreviate_document(whole.json)


def cold_process(monkeypatch) -> None:
    monkeypatch.setattr(pieces, "PIECES", pieces.PieceCache(1 << 20))


def test_after_publishes(admin, demo, monkeypatch):
    assert_as_built_whole(admin)
    assert list(admin.get("/npm/js/demo").json["versions"]) == ["1.0.0", "1.0.1", "1.0.2"]
    cold_process(monkeypatch)
    doc = body("demo", "1.0.3", tarball("demo", "1.0.3"))
    assert put(admin, "demo", json.dumps(doc).encode()).status_code == 201
    assert_as_built_whole(admin)


def test_after_a_deprecation_and_its_undoing(admin, demo):
    fetched = admin.get("/npm/js/demo?write=true").json
    fetched["versions"]["1.0.1"]["deprecated"] = "use 1.0.2"
    put_document(admin, "demo", fetched)
    assert admin.get("/npm/js/demo").json["versions"]["1.0.1"]["deprecated"] == "use 1.0.2"
    assert_as_built_whole(admin)
    fetched["versions"]["1.0.1"]["deprecated"] = ""
    put_document(admin, "demo", fetched)
    assert "deprecated" not in admin.get("/npm/js/demo").json["versions"]["1.0.1"]
    assert_as_built_whole(admin)


def test_after_a_retag_and_an_unpublish(admin, demo, monkeypatch):
    fetched = admin.get("/npm/js/demo?write=true").json
    put_document(admin, "demo", {**fetched, "dist-tags": {"latest": "1.0.0", "next": "1.0.2"}})
    packument = admin.get("/npm/js/demo").json
    assert packument["dist-tags"] == {"latest": "1.0.0", "next": "1.0.2"}
    assert packument["description"] == "demo 1.0.0"  # hoisted from latest
    assert_as_built_whole(admin)
    fetched = admin.get("/npm/js/demo?write=true").json
    kept = {v: m for v, m in fetched["versions"].items() if v != "1.0.2"}
    unpublish = {**fetched, "versions": kept, "dist-tags": {"latest": "1.0.0"}}
    put_document(admin, f"demo/-rev/{fetched['_rev']}", unpublish)
    packument = admin.get("/npm/js/demo").json
    assert list(packument["versions"]) == ["1.0.0", "1.0.1"]
    assert "1.0.2" in packument["time"]  # unpublished numbers keep their time
    assert_as_built_whole(admin)
    cold_process(monkeypatch)
    put_document(admin, "demo", {**unpublish, "dist-tags": {"latest": "1.0.1"}})
    assert admin.get("/npm/js/demo").json["description"] == "demo 1.0.1"
    assert_as_built_whole(admin)


def test_maintainers_are_every_publisher_once(admin, api_factory, demo):
    other = api_factory.as_user("other", roles={"js": ["write"]})
    doc = body("demo", "1.1.0", tarball("demo", "1.1.0"))
    assert put(other, "demo", json.dumps(doc).encode()).status_code == 201
    packument = admin.get("/npm/js/demo").json
    assert [m["name"] for m in packument["maintainers"]] == ["admin", "other"]
    assert_as_built_whole(admin)
