"""Generic remote and virtual repositories in process, against an upstream on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import pytest

from tests.support.upstream import Upstream

BYTES = b"tool bytes" * 500


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    """Short timeouts: a failing upstream fails these tests' requests within seconds."""
    return {"upstream_connect_timeout": "1", "upstream_read_timeout": "1", "upstream_retries": "0"}


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream().running() as server:
        yield server


@pytest.fixture
def remote(make_repo, upstream) -> str:
    make_repo("up", kind="remote", upstream={"url": upstream.url + "base/"})
    return "up"


@pytest.fixture
def virtual(make_repo, admin, remote) -> str:
    make_repo("local")
    make_repo("all", kind="virtual", members=["local", remote])
    return "all"


def test_a_remote_fetches_a_path_once_and_keeps_it_as_a_published_file(admin, remote, upstream):
    upstream.serve("/base/tool/1.0/tool.tgz", BYTES)
    first = admin.get("/generic/up/tool/1.0/tool.tgz")
    assert (first.status_code, first.content) == (200, BYTES), first.text
    assert first.headers["content-type"] == "application/x-tar"
    assert admin.get("/generic/up/tool/1.0/tool.tgz").content == BYTES
    assert upstream.hits["/base/tool/1.0/tool.tgz"] == 1
    version = admin.get("/v1/repos/up/packages/tool/versions/1.0").json
    assert version["published_by"] == "remote:up"
    assert [a["filename"] for a in version["artifacts"]] == ["tool.tgz"]
    assert admin.get("/generic/up/tool/1.0/").json["entries"] == ["tool.tgz"]


def test_a_base_url_without_its_trailing_slash_keeps_its_last_segment(admin, make_repo, upstream):
    created = make_repo("bare", kind="remote", upstream={"url": upstream.url + "files"})
    assert created["upstream"]["url"] == upstream.url + "files/"
    upstream.serve("/files/tool/1.0/tool.tgz", BYTES)
    assert admin.get("/generic/bare/tool/1.0/tool.tgz").content == BYTES
    assert upstream.hits["/files/tool/1.0/tool.tgz"] == 1
    patched = admin.patch("/v1/repos/bare", {"upstream": {"url": upstream.url + "base"}})
    assert patched.status_code == 200, patched.text
    assert patched.json["upstream"]["url"] == upstream.url + "base/"


def test_nested_and_encoded_paths_reach_the_upstream_encoded(admin, remote, upstream):
    upstream.serve("/base/tool/1.0/docs/read%20me.txt", b"docs")
    upstream.serve("/base/tool/1.0/tool.tgz", BYTES)
    assert admin.get("/generic/up/tool/1.0/docs/read me.txt").content == b"docs"
    assert admin.get("/generic/up/tool/1.0/tool.tgz").content == BYTES
    version = admin.get("/v1/repos/up/packages/tool/versions/1.0").json
    assert sorted(a["filename"] for a in version["artifacts"]) == ["docs/read me.txt", "tool.tgz"]


def declaring(data: bytes, header: str) -> dict[str, str]:
    """The response header *header* declaring *data*'s sha256, as file servers write it."""
    raw = hashlib.sha256(data).digest()
    return {
        "X-Checksum-Sha256": {header: raw.hex()},
        "Content-Digest": {header: f"sha-256=:{base64.b64encode(raw).decode()}:"},
        "Digest": {header: f"SHA-256={base64.b64encode(raw).decode()}"},
    }[header]


@pytest.mark.parametrize("header", ["X-Checksum-Sha256", "Content-Digest", "Digest"])
def test_a_digest_the_upstream_declares_is_verified(admin, remote, upstream, header):
    upstream.serve("/base/tool/1.0/tool.tgz", BYTES, headers=declaring(BYTES, header))
    good = admin.get("/generic/up/tool/1.0/tool.tgz")
    assert (good.status_code, good.content) == (200, BYTES), good.text
    upstream.serve("/base/tool/1.0/evil.tgz", b"tampered", headers=declaring(BYTES, header))
    # A range is answered after the fetch (a plain GET's response would end short).
    refused = admin.get("/generic/up/tool/1.0/evil.tgz", headers={"Range": "bytes=0-1"})
    assert refused.status_code == 502
    assert refused.json["error"]["code"] == "upstream_mismatch"
    version = admin.get("/v1/repos/up/packages/tool/versions/1.0").json
    assert [a["filename"] for a in version["artifacts"]] == ["tool.tgz"], "nothing stored"


def test_a_path_the_upstream_lacks_is_a_404_and_a_failing_upstream_a_502(admin, remote, upstream):
    assert admin.get("/generic/up/tool/1.0/missing.tgz").status_code == 404
    upstream.serve("/base/tool/1.0/broken.tgz", b"", status=500)
    failed = admin.get("/generic/up/tool/1.0/broken.tgz")
    assert failed.status_code == 502
    assert "127.0.0.1" in failed.json["error"]["message"]


def test_a_remote_takes_no_uploads_or_deletions(admin, remote, upstream):
    upstream.serve("/base/tool/1.0/tool.tgz", BYTES)
    put = admin.client.simulate_put(
        "/generic/up/tool/1.0/tool.tgz", body=b"x", headers=admin.headers()
    )
    assert put.status_code == 405, put.text
    assert admin.get("/generic/up/tool/1.0/tool.tgz").status_code == 200
    assert admin.delete("/generic/up/tool/1.0/").status_code == 405


def test_a_virtual_serves_the_first_member_that_has_the_path(admin, virtual, upstream):
    upstream.serve("/base/shared/1.0/a.txt", b"from upstream")
    upstream.serve("/base/public/1.0/b.txt", b"only upstream")
    put = admin.client.simulate_put(
        "/generic/local/shared/1.0/a.txt", body=b"from hosted", headers=admin.headers()
    )
    assert put.status_code == 201
    assert admin.get("/generic/all/shared/1.0/a.txt").content == b"from hosted"
    assert upstream.hits["/base/shared/1.0/a.txt"] == 0, "the hosted member came first"
    assert admin.get("/generic/all/public/1.0/b.txt").content == b"only upstream"
    assert admin.get("/generic/all/").json["entries"] == ["public/", "shared/"]
    assert admin.get("/generic/all/nothing/1.0/c.txt").status_code == 404


def test_a_virtual_never_serves_a_member_the_caller_may_not_read(
    admin, api_factory, virtual, upstream
):
    admin.client.simulate_put(
        "/generic/local/secret/1.0/key.txt", body=b"private", headers=admin.headers()
    )
    reader = api_factory.as_user("reader")
    for key in ("all", "up"):
        assert admin.put(f"/v1/repos/{key}/bindings/reader", {"roles": ["read"]}).status_code == 200
    assert reader.get("/generic/all/secret/1.0/key.txt").status_code == 404
    assert upstream.hits["/base/secret/1.0/key.txt"] == 0, "a hosted package is never fetched"
    assert reader.get("/generic/all/").json["entries"] == []
    assert admin.get("/generic/all/secret/1.0/key.txt").content == b"private"


def test_a_hosted_package_never_gains_paths_from_upstream(admin, virtual, upstream):
    """The dependency-confusion guard: a package a hosted member has is served by hosted only."""
    put = admin.client.simulate_put(
        "/generic/local/tool/1.0/tool.tgz", body=b"hosted", headers=admin.headers()
    )
    assert put.status_code == 201
    upstream.serve("/base/tool/2.0/tool.tgz", b"from upstream")
    upstream.serve("/base/tool/1.0/extra.sh", b"from upstream")
    assert admin.get("/generic/all/tool/2.0/tool.tgz").status_code == 404
    assert admin.get("/generic/all/tool/1.0/extra.sh").status_code == 404
    assert upstream.hits["/base/tool/2.0/tool.tgz"] == upstream.hits["/base/tool/1.0/extra.sh"] == 0
    assert admin.get("/generic/up/tool/2.0/tool.tgz").status_code == 200  # cached by the remote
    assert admin.get("/generic/all/tool/").json["entries"] == ["1.0/"], "nor listed"
    admin.patch("/v1/repos/all", {"merge_patterns": ["tool"]})
    assert admin.get("/generic/all/tool/2.0/tool.tgz").content == b"from upstream"


def test_a_virtual_serves_hosted_files_while_the_upstream_fails(admin, virtual, upstream):
    admin.client.simulate_put(
        "/generic/local/tool/1.0/a.txt", body=b"hosted", headers=admin.headers()
    )
    upstream.serve("/base/other/1.0/b.txt", b"", status=503)
    assert admin.get("/generic/all/other/1.0/b.txt").status_code == 502
    assert admin.get("/generic/all/tool/1.0/a.txt").content == b"hosted"


def test_uploads_to_a_virtual_land_in_its_hosted_member(admin, virtual):
    put = admin.client.simulate_put(
        "/generic/all/tool/2.0/t.bin", body=b"new", headers=admin.headers()
    )
    assert put.status_code == 201, put.text
    assert admin.get("/generic/local/tool/2.0/t.bin").content == b"new"
