"""Full and abbreviated packuments, their headers, dist-tag operations, and build speed."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from artifortress_npm.dist_tags import (
    dist_tags_json,
    parse_dist_tag_body,
    remove_dist_tag,
    set_dist_tag,
    tags_after_removal,
)
from artifortress_npm.errors import NpmError
from artifortress_npm.packument import (
    ABBREVIATED_MEDIA_TYPE,
    build_packument,
    is_not_modified,
    iso,
    make_rev,
    resolve_spec,
    tarball_url,
    version_json,
    wants_abbreviated,
)
from artifortress_npm.state import PackageState
from npm_testkit import make_state

BASE = "https://artifortress.example/npm/main/"
CORGI_ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"


def rich_state() -> PackageState:
    state = make_state(
        "@acme/tool",
        ("1.0.0", "1.1.0", "2.0.0-rc.1"),
        deprecated={"1.0.0": "use 1.1"},
        unpublished={"0.9.0": "2023-06-01T12:00:00+00:00"},
        tags={"latest": "1.1.0", "next": "2.0.0-rc.1", "old": "0.9.0"},
    )
    latest = state.versions["1.1.0"]
    hoisted = {
        "license": "MIT",
        "keywords": ["cli"],
        "homepage": "https://example.com",
        "repository": {"type": "git", "url": "git+https://example.com/r.git"},
        "bugs": {"url": "https://example.com/issues"},
        "author": {"name": "Alice"},
        "bin": {"tool": "cli.js"},
        "engines": {"node": ">=18"},
        "os": ["linux"],
        "peerDependencies": {"peer": "*"},
        "peerDependenciesMeta": {"peer": {"optional": True}},
        "funding": "https://example.com/fund",
    }
    versions = dict(state.versions)
    versions["1.1.0"] = replace(
        latest, manifest={**latest.manifest, **hoisted}, has_install_script=True
    )
    return replace(state, versions=versions)


@pytest.fixture(scope="module")
def built() -> tuple[dict[str, Any], dict[str, Any]]:
    packument = build_packument(rich_state(), BASE)
    return json.loads(packument.full.body), json.loads(packument.abbreviated.body)


def test_full_document(built: tuple[dict[str, Any], dict[str, Any]]) -> None:
    full, _ = built
    assert full["_id"] == full["name"] == "@acme/tool"
    assert full["_rev"] == make_rev(rich_state())
    assert full["dist-tags"] == {"latest": "1.1.0", "next": "2.0.0-rc.1"}  # "old" is dangling
    assert list(full["versions"]) == ["1.0.0", "1.1.0", "2.0.0-rc.1"]
    assert full["description"] == "@acme/tool 1.1.0"
    assert full["license"] == "MIT"
    assert full["keywords"] == ["cli"]
    assert full["homepage"] == "https://example.com"
    assert full["repository"]["type"] == "git"
    assert full["bugs"] == {"url": "https://example.com/issues"}
    assert full["author"] == {"name": "Alice"}
    assert full["maintainers"] == [{"name": "alice", "email": "alice@example.com"}]
    assert (full["readme"], full["readmeFilename"]) == ("# readme", "README.md")
    assert full["users"] == {}
    assert full["time"] == {
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:03:00.000Z",
        "0.9.0": "2023-06-01T12:00:00.000Z",
        "1.0.0": "2024-01-01T00:00:00.000Z",
        "1.1.0": "2024-01-01T00:01:00.000Z",
        "2.0.0-rc.1": "2024-01-01T00:02:00.000Z",
    }


def test_full_version_objects(built: tuple[dict[str, Any], dict[str, Any]]) -> None:
    full, _ = built
    old, current = full["versions"]["1.0.0"], full["versions"]["1.1.0"]
    assert old["_id"] == "@acme/tool@1.0.0"
    assert old["deprecated"] == "use 1.1"
    assert "deprecated" not in current
    assert current["hasInstallScript"] is True
    assert "hasInstallScript" not in old
    assert old["_hasShrinkwrap"] is False
    assert old["scripts"] == {"test": "node t.js"}
    assert old["_npmUser"]["name"] == "alice"
    assert old["dist"] == {
        "integrity": rich_state().versions["1.0.0"].integrity,
        "shasum": rich_state().versions["1.0.0"].shasum,
        "tarball": "https://artifortress.example/npm/main/@acme/tool/-/tool-1.0.0.tgz",
        "fileCount": 3,
        "unpackedSize": 100,
    }


def test_abbreviated_document(built: tuple[dict[str, Any], dict[str, Any]]) -> None:
    full, corgi = built
    assert set(corgi) == {"name", "modified", "dist-tags", "versions"}
    assert corgi["modified"] == full["time"]["modified"]
    assert corgi["dist-tags"] == full["dist-tags"]
    current = corgi["versions"]["1.1.0"]
    assert set(current) == {
        "name", "version", "dependencies", "bin", "engines", "os", "peerDependencies",
        "peerDependenciesMeta", "funding", "dist", "_hasShrinkwrap", "hasInstallScript",
    }  # fmt: skip
    assert current["dist"] == full["versions"]["1.1.0"]["dist"]
    assert corgi["versions"]["1.0.0"]["deprecated"] == "use 1.1"


def test_documents_are_compact_json() -> None:
    packument = build_packument(rich_state(), BASE)
    for document in (packument.full, packument.abbreviated):
        reparsed = json.loads(document.body)
        compact = json.dumps(reparsed, separators=(",", ":"), ensure_ascii=False).encode()
        assert document.body == compact


def test_etags_are_strong_distinct_and_track_changes() -> None:
    state = rich_state()
    first, again = build_packument(state, BASE), build_packument(state, BASE)
    assert first.full.etag == again.full.etag
    assert first.full.etag != first.abbreviated.etag
    for etag in (first.full.etag, first.abbreviated.etag):
        assert etag.startswith('"')
        assert etag.endswith('"')
        assert not etag.startswith("W/")
    changed = build_packument(replace(state, dist_tags={"latest": "1.0.0"}), BASE)
    assert changed.full.etag != first.full.etag
    assert changed.abbreviated.etag != first.abbreviated.etag
    assert first.full.content_type == "application/json"
    assert first.abbreviated.content_type == ABBREVIATED_MEDIA_TYPE
    assert first.last_modified == "Mon, 01 Jan 2024 00:03:00 GMT"
    assert first.select(CORGI_ACCEPT) is first.abbreviated
    assert first.select("application/json") is first.full


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (CORGI_ACCEPT, True),
        ("application/vnd.npm.install-v1+json", True),
        ("application/json", False),
        ("*/*", False),
        (None, False),
        ("application/vnd.npm.install-v1+json;q=0", False),
    ],
)
def test_wants_abbreviated(accept: str | None, expected: bool) -> None:
    assert wants_abbreviated(accept) is expected


@pytest.mark.parametrize(
    ("inm", "ims", "expected"),
    [
        ("SELF", None, True),
        ('"other", SELF', None, True),
        ("W/SELF", None, True),
        ("*", None, True),
        ('"other"', None, False),
        ('"other"', "Mon, 01 Jan 2024 00:03:00 GMT", False),  # If-None-Match wins
        (None, "Mon, 01 Jan 2024 00:03:00 GMT", True),
        (None, "Tue, 02 Jan 2024 00:00:00 GMT", True),
        (None, "Mon, 01 Jan 2024 00:02:59 GMT", False),
        (None, "not a date", False),
        (None, None, False),
    ],
)
def test_conditional_requests(inm: str | None, ims: str | None, expected: bool) -> None:
    packument = build_packument(rich_state(), BASE)
    document = packument.full
    header = inm.replace("SELF", document.etag) if inm else None
    result = is_not_modified(
        document, packument.modified, if_none_match=header, if_modified_since=ims
    )
    assert result is expected


def test_version_documents_and_specs() -> None:
    state = rich_state()
    assert resolve_spec(state, "latest") == "1.1.0"
    assert resolve_spec(state, "1.0.0") == "1.0.0"
    assert resolve_spec(state, "old") is None  # points at an unpublished version
    assert resolve_spec(state, "0.9.0") is None
    assert resolve_spec(state, "9.9.9") is None
    full = json.loads(build_packument(state, BASE).full.body)
    assert json.loads(version_json(state, "1.1.0", BASE)) == full["versions"]["1.1.0"]


def test_tarball_urls() -> None:
    assert tarball_url("http://h/npm/r", "@s/p", "1.0.0") == "http://h/npm/r/@s/p/-/p-1.0.0.tgz"
    assert tarball_url("http://h/npm/r/", "p", "1.0.0") == "http://h/npm/r/p/-/p-1.0.0.tgz"
    assert iso(datetime(2024, 5, 6, 7, 8, 9, 123456)) == "2024-05-06T07:08:09.123Z"
    assert iso(datetime(2024, 5, 6, tzinfo=UTC)) == "2024-05-06T00:00:00.000Z"


def big_state(count: int) -> PackageState:
    """A package with ``count`` versions whose manifests look like express's."""
    versions = tuple(f"{i // 100}.{i // 10 % 10}.{i % 10}" for i in range(count))
    state = make_state("express-like", versions)
    deps = {f"dependency-{j}": f"~{j}.1.0" for j in range(30)}
    extra = {
        "dependencies": deps,
        "devDependencies": deps,
        "repository": {"type": "git", "url": "git+https://github.com/example/express.git"},
        "contributors": [{"name": f"person {k}", "email": f"p{k}@example.com"} for k in range(5)],
        "files": ["LICENSE", "History.md", "Readme.md", "index.js", "lib/"],
        "engines": {"node": ">= 0.10.0"},
        "gitHead": "0" * 40,
        "license": "MIT",
    }
    records = {v: replace(r, manifest={**r.manifest, **extra}) for v, r in state.versions.items()}
    return replace(state, versions=records, readme="r" * 30_000)


def test_500_version_packument_builds_well_under_100_ms() -> None:
    state = big_state(500)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        packument = build_packument(state, BASE)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    assert len(json.loads(packument.abbreviated.body)["versions"]) == 500
    assert len(packument.full.body) > 500_000
    assert best < 0.1, f"best of 5: {best * 1000:.1f} ms"
    print(
        f"500-version packument: {best * 1000:.1f} ms (full {len(packument.full.body) // 1024}"
        f" KiB, abbreviated {len(packument.abbreviated.body) // 1024} KiB)"
    )


# -- dist-tags --------------------------------------------------------------------------


def test_dist_tag_body() -> None:
    assert parse_dist_tag_body(b'"1.0.0"') == "1.0.0"
    for raw in (b"1.0.0", b'{"v":1}', b'""', b"", b'"' + b"x" * 2000 + b'"'):
        with pytest.raises(NpmError):
            parse_dist_tag_body(raw)


def test_dist_tag_operations() -> None:
    state = make_state(versions=("1.0.0", "2.0.0"), tags={"latest": "2.0.0", "gone": "0.1.0"})
    assert json.loads(dist_tags_json(state)) == {"latest": "2.0.0"}
    assert set_dist_tag(state, "stable", "1.0.0") == {"latest": "2.0.0", "stable": "1.0.0"}
    with pytest.raises(NpmError) as info:
        set_dist_tag(state, "stable", "3.0.0")
    assert info.value.status == 404
    with pytest.raises(NpmError, match="invalid dist-tag"):
        set_dist_tag(state, "1.0", "1.0.0")
    tagged = replace(state, dist_tags={"latest": "2.0.0", "beta": "1.0.0"})
    assert remove_dist_tag(tagged, "beta") == {"latest": "2.0.0"}
    with pytest.raises(NpmError, match="cannot be removed"):
        remove_dist_tag(tagged, "latest")
    with pytest.raises(NpmError) as info:
        remove_dist_tag(tagged, "gone")
    assert info.value.status == 404


def test_tags_after_removal() -> None:
    tags = {"latest": "2.0.0", "beta": "3.0.0-rc.1", "old": "1.0.0"}
    remaining = ["1.0.0", "1.5.0", "3.0.0-rc.1"]
    assert tags_after_removal(tags, remaining) == {
        "latest": "1.5.0",
        "beta": "3.0.0-rc.1",
        "old": "1.0.0",
    }
    assert tags_after_removal(tags, []) == {}


def test_integers_beyond_64_bits_still_serialize() -> None:
    state = make_state()
    record = state.versions["1.0.0"]
    huge = replace(record, manifest={**record.manifest, "config": {"n": 2**70, "f": 0.5}})
    body = build_packument(replace(state, versions={"1.0.0": huge}), BASE).full.body
    assert json.loads(body)["versions"]["1.0.0"]["config"] == {"n": 2**70, "f": 0.5}
