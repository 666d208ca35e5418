"""The generic format over HTTP: PUT, GET with ranges, listings, deletes, hostile paths."""

from __future__ import annotations

import hashlib

import pytest

DATA = b"firmware image " * 1000
SHA256 = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def repo(make_repo):
    make_repo("files", format="generic")
    return "/generic/files"


def put(api, path, data=DATA, **headers):
    return api.client.simulate_request("PUT", path, headers=api.headers(headers), body=data)


def test_put_then_get_whole_and_by_range(admin, repo):
    created = put(admin, f"{repo}/fw/1.0/image.bin", **{"X-Checksum-Sha256": SHA256})
    assert created.status_code == 201, created.text
    assert created.json["digest"] == f"sha256:{SHA256}"
    whole = admin.get(f"{repo}/fw/1.0/image.bin")
    assert whole.status_code == 200
    assert whole.content == DATA
    assert whole.headers["x-checksum-sha256"] == SHA256
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["etag"] == f'"sha256:{SHA256}"'
    assert 'filename="image.bin"' in whole.headers["content-disposition"]
    part = admin.get(f"{repo}/fw/1.0/image.bin", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == DATA[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(DATA)}"
    beyond = admin.get(f"{repo}/fw/1.0/image.bin", headers={"Range": f"bytes={len(DATA)}-"})
    assert beyond.status_code == 416
    again = admin.get(f"{repo}/fw/1.0/image.bin", headers={"If-None-Match": whole.headers["etag"]})
    assert again.status_code == 304


def test_head_has_headers_and_no_body(admin, repo):
    put(admin, f"{repo}/fw/1.0/image.bin")
    head = admin.client.simulate_request(
        "HEAD", f"{repo}/fw/1.0/image.bin", headers=admin.headers()
    )
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(DATA))
    assert head.content == b""


def test_content_type_is_guessed_from_the_name(admin, repo):
    put(admin, f"{repo}/docs/1/index.html", b"<html></html>")
    assert admin.get(f"{repo}/docs/1/index.html").headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("header", ["X-Checksum-Sha256", "X-Checksum-Sha1", "X-Checksum-Md5"])
def test_checksum_mismatch_stores_nothing(admin, repo, services, header):
    wrong = {"X-Checksum-Sha256": "0" * 64, "X-Checksum-Sha1": "0" * 40, "X-Checksum-Md5": "0" * 32}
    refused = put(admin, f"{repo}/fw/1.0/image.bin", **{header: wrong[header]})
    assert refused.status_code == 400, refused.text
    assert admin.get(f"{repo}/fw/1.0/image.bin").status_code == 404
    assert services.blobs.size_of(f"sha256:{SHA256}") is None


def test_matching_sha1_and_md5_are_accepted(admin, repo):
    headers = {
        "X-Checksum-Sha1": hashlib.sha1(DATA).hexdigest(),
        "X-Checksum-Md5": hashlib.md5(DATA).hexdigest(),
    }
    assert put(admin, f"{repo}/fw/1.0/image.bin", **headers).status_code == 201


def test_published_files_are_immutable(admin, repo):
    assert put(admin, f"{repo}/fw/1.0/image.bin").status_code == 201
    assert put(admin, f"{repo}/fw/1.0/image.bin").status_code == 200  # identical: fine
    assert put(admin, f"{repo}/fw/1.0/image.bin", b"other bytes").status_code == 409
    declared = put(admin, f"{repo}/fw/1.0/image.bin", b"x", **{"X-Checksum-Sha256": "1" * 64})
    assert declared.status_code == 409
    assert admin.get(f"{repo}/fw/1.0/image.bin").content == DATA


def test_files_map_onto_versions(admin, repo):
    put(admin, f"{repo}/fw/1.0/image.bin")
    put(admin, f"{repo}/fw/1.0/docs/readme.txt", b"read me")
    version = admin.get("/v1/repos/files/packages/fw/versions/1.0").json
    assert sorted(a["filename"] for a in version["artifacts"]) == ["docs/readme.txt", "image.bin"]


def test_listings_in_json_and_html(admin, repo):
    put(admin, f"{repo}/fw/1.0/image.bin")
    put(admin, f"{repo}/fw/1.0/docs/readme.txt", b"r")
    put(admin, f"{repo}/fw/2.0/image.bin", b"2")
    put(admin, f"{repo}/tool/0.1/t.sh", b"t")
    assert admin.get(f"{repo}/").json["entries"] == ["fw/", "tool/"]
    assert admin.get(f"{repo}/fw/").json["entries"] == ["1.0/", "2.0/"]
    assert admin.get(f"{repo}/fw/1.0/").json["entries"] == ["docs/", "image.bin"]
    assert admin.get(f"{repo}/fw/1.0/docs/").json["entries"] == ["readme.txt"]
    first = admin.get(f"{repo}/fw/1.0/?limit=1").json
    assert first["entries"] == ["docs/"]
    rest = admin.get(f"{repo}/fw/1.0/?limit=1&cursor={first['next_cursor']}").json
    assert rest["entries"] == ["image.bin"]
    assert rest["next_cursor"] is None
    page = admin.get(f"{repo}/fw/", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert 'href="1.0/"' in page.text
    assert admin.get(f"{repo}/nothing/").status_code == 404


def test_delete_is_tombstone_first(admin, repo):
    put(admin, f"{repo}/fw/1.0/image.bin")
    assert admin.delete(f"{repo}/fw/1.0/image.bin").status_code == 200
    assert admin.get(f"{repo}/fw/1.0/image.bin").status_code == 404
    restored = admin.post("/v1/repos/files/packages/fw/versions/1.0/restore")
    assert restored.status_code == 200, restored.text
    assert admin.get(f"{repo}/fw/1.0/image.bin").content == DATA


def test_deleting_one_of_several_files_is_refused(admin, repo):
    put(admin, f"{repo}/fw/1.0/a.bin", b"a")
    put(admin, f"{repo}/fw/1.0/b.bin", b"b")
    assert admin.delete(f"{repo}/fw/1.0/a.bin").status_code == 409
    assert admin.delete(f"{repo}/fw/1.0/").status_code == 200
    assert admin.get(f"{repo}/fw/1.0/b.bin").status_code == 404


HOSTILE = [
    "fw/1.0/../../etc/passwd",
    "fw/%2e%2e/x/y",
    "fw/1.0/%252e%252e/y",
    "fw/1.0/a\\b",
    "fw/1.0/nul%00byte",
    "fw/1.0/ctl%01char",
    "fw//1.0/x",
    "fw/./1.0/x",
    "fw/1.0/" + "x" * 300,
    "fw/1.0/" + "/".join(["d"] * 600),
]


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_paths_are_refused_before_anything_is_written(admin, repo, services, path):
    refused = put(admin, f"{repo}/{path}", b"evil")
    assert 400 <= refused.status_code < 500, (path, refused.status_code)
    assert services.blobs.size_of("sha256:" + hashlib.sha256(b"evil").hexdigest()) is None
    assert admin.get("/v1/repos/files/packages").json["packages"] == []


def test_too_short_path_is_400(admin, repo):
    assert put(admin, f"{repo}/fw/image.bin").status_code == 400


def test_permissions(admin, anonymous, api_factory, repo):
    put(admin, f"{repo}/fw/1.0/image.bin")
    assert anonymous.get(f"{repo}/fw/1.0/image.bin").status_code == 401
    admin.post("/v1/users", {"name": "reader"})
    admin.put("/v1/repos/files/bindings/reader", {"roles": ["read"]})
    reader = api_factory.as_user("reader")
    assert reader.get(f"{repo}/fw/1.0/image.bin").status_code == 200
    assert put(reader, f"{repo}/fw/2.0/image.bin").status_code == 403
    admin.patch("/v1/repos/files", {"public": True})
    assert anonymous.get(f"{repo}/fw/1.0/image.bin").status_code == 200
