"""Search results and the audit endpoints."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import UTC, datetime

import pytest
from artifortress_npm.audit import (
    audit_unavailable,
    check_bulk_request,
    check_quick_request,
    read_audit_body,
)
from artifortress_npm.errors import NpmError
from artifortress_npm.search import (
    SearchHit,
    hit_from_manifest,
    parse_search_query,
    render_search,
)


def test_search_query_defaults_and_bounds() -> None:
    query = parse_search_query({})
    assert (query.text, query.size, query.offset) == ("", 20, 0)
    query = parse_search_query({"text": " left pad ", "size": "1000", "from": "99999"})
    assert (query.text, query.size, query.offset) == ("left pad", 250, 10_000)
    assert parse_search_query({"size": "0"}).size == 1


@pytest.mark.parametrize("params", [{"size": "ten"}, {"from": "-1"}, {"text": "x" * 300}])
def test_bad_search_queries(params: dict[str, str]) -> None:
    with pytest.raises(NpmError) as info:
        parse_search_query(params)
    assert info.value.status == 400


def test_hit_from_manifest() -> None:
    manifest = {
        "name": "@acme/tool",
        "version": "1.2.3",
        "description": "A tool",
        "keywords": ["cli", 5, "tool"],
        "homepage": "https://acme.example",
        "repository": {"type": "git", "url": "git+https://git.example/acme/tool.git"},
        "bugs": "https://git.example/acme/tool/issues",
        "_npmUser": {"name": "alice", "email": "alice@example.com"},
    }
    hit = hit_from_manifest(
        "@acme/tool", manifest, maintainers=[{"name": "bob", "email": "b@example.com"}]
    )
    assert hit.version == "1.2.3"
    assert list(hit.keywords) == ["cli", "tool"]
    assert dict(hit.links) == {
        "homepage": "https://acme.example",
        "repository": "https://git.example/acme/tool.git",
        "bugs": "https://git.example/acme/tool/issues",
    }
    assert hit.publisher == {"username": "alice", "email": "alice@example.com"}
    assert list(hit.maintainers) == [{"username": "bob", "email": "b@example.com"}]


def test_render_search() -> None:
    when = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    hits = [
        SearchHit(name="@acme/tool", version="1.0.0", date=when, score=0.5),
        SearchHit(name="plain", version="2.0.0", publisher={"username": "a", "email": "e"}),
    ]
    document = json.loads(render_search(hits, 7, now=when))
    assert document["total"] == 7
    assert document["time"] == "Tue Mar 04 2025 05:06:07 GMT+0000 (Coordinated Universal Time)"
    first, second = document["objects"]
    assert first["package"] == {
        "name": "@acme/tool",
        "scope": "acme",
        "version": "1.0.0",
        "description": "",
        "keywords": [],
        "date": "2025-03-04T05:06:07.000Z",
        "links": {},
        "maintainers": [],
    }
    assert first["score"] == {
        "final": 0.5,
        "detail": {"quality": 0.5, "popularity": 0.5, "maintenance": 0.5},
    }
    assert first["searchScore"] == 0.5
    assert second["package"]["scope"] == "unscoped"
    assert second["package"]["date"] is None
    assert second["package"]["publisher"] == {"username": "a", "email": "e"}


BULK = {"left-pad": ["1.3.0"], "@acme/tool": ["1.0.0", "1.1.0"]}


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (gzip.compress(json.dumps(BULK).encode(), mtime=0), "gzip"),
        (gzip.compress(json.dumps(BULK).encode(), mtime=0), None),  # recognised by magic bytes
        (zlib.compress(json.dumps(BULK).encode()), "deflate"),
        (json.dumps(BULK).encode(), None),
        (json.dumps(BULK).encode(), "identity"),
    ],
)
def test_audit_bodies_are_decompressed(raw: bytes, encoding: str | None) -> None:
    assert read_audit_body(raw, content_encoding=encoding) == BULK
    check_bulk_request(read_audit_body(raw, content_encoding=encoding))


def test_audit_gzip_bomb_is_refused_quickly() -> None:
    bomb = gzip.compress(bytes(64 * 1024 * 1024), mtime=0)
    with pytest.raises(NpmError) as info:
        read_audit_body(bomb, content_encoding="gzip", max_size=1024 * 1024)
    assert info.value.status == 413


@pytest.mark.parametrize(
    ("raw", "encoding", "status"),
    [
        (gzip.compress(b"{}", mtime=0)[:-10], "gzip", 400),
        (b"not gzip at all", "gzip", 400),
        (b"{nope", None, 400),
        (b"{}", "br", 415),
        (b"{" + b" " * 2048 + b"}", None, 413),
    ],
)
def test_bad_audit_bodies(raw: bytes, encoding: str | None, status: int) -> None:
    with pytest.raises(NpmError) as info:
        read_audit_body(raw, content_encoding=encoding, max_size=1024)
    assert info.value.status == status


def test_deeply_nested_audit_body_is_a_400() -> None:
    with pytest.raises(NpmError, match="not valid JSON") as info:
        read_audit_body(b"[" * 100_000 + b"]" * 100_000)
    assert info.value.status == 400


@pytest.mark.parametrize("body", [[], {"a": "1.0.0"}, "x"])
def test_bad_bulk_requests(body: object) -> None:
    with pytest.raises(NpmError):
        check_bulk_request(body)


@pytest.mark.parametrize("body", [[], "x", 1])
def test_bad_quick_requests(body: object) -> None:
    with pytest.raises(NpmError) as info:
        check_quick_request(body)
    assert info.value.status == 400


def test_a_good_audit_request_is_told_no_audit_can_be_done() -> None:
    """Not an empty report: npm would print "found 0 vulnerabilities" on it."""
    check_bulk_request(BULK)
    check_quick_request({"name": "app", "dependencies": {}})
    unavailable = audit_unavailable()
    assert unavailable.status == 404
    assert "the audit was not done" in unavailable.message
