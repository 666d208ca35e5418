"""Bad publishes over HTTP: a clear npm error, and nothing stored."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import time

import pytest

from artifortress.testing.bombs import tar_gz_bomb


def tarball(name: str, version: str) -> bytes:
    buffer = io.BytesIO()
    data = json.dumps({"name": name, "version": version}).encode()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("package/package.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def body(name: str, version: str, tgz: bytes, **dist_overrides: object) -> dict:
    dist = {
        "shasum": hashlib.sha1(tgz).hexdigest(),
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode(),
        **dist_overrides,
    }
    return {
        "_id": name,
        "name": name,
        "dist-tags": {"latest": version},
        "versions": {version: {"name": name, "version": version, "dist": dist}},
        "_attachments": {
            f"{name}-{version}.tgz": {
                "content_type": "application/octet-stream",
                "data": base64.b64encode(tgz).decode(),
                "length": len(tgz),
            }
        },
    }


@pytest.fixture
def repo(make_repo):
    make_repo("js", format="npm")


def put(api, name: str, payload: bytes):
    return api.client.simulate_request(
        "PUT",
        f"/npm/js/{name}",
        headers=api.headers({"Content-Type": "application/json"}),
        body=payload,
    )


def nothing_stored(admin) -> bool:
    return admin.get("/v1/repos/js/packages").json["packages"] == []


def test_good_publish_then_packument(admin, repo):
    doc = body("demo", "1.0.0", tarball("demo", "1.0.0"))
    assert put(admin, "demo", json.dumps(doc).encode()).status_code == 201
    packument = admin.get("/npm/js/demo").json
    assert packument["dist-tags"] == {"latest": "1.0.0"}
    assert packument["versions"]["1.0.0"]["dist"]["tarball"].endswith(
        "/npm/js/demo/-/demo-1.0.0.tgz"
    )


def test_a_double_encoded_name_is_decoded_once(admin, repo):
    """``%252f`` reaches the plugin as ``%2f``: a literal ``%``, no scope separator."""
    scoped = body("@sc/pkg", "1.0.0", tarball("@sc/pkg", "1.0.0"))
    answer = put(admin, "@sc%252fpkg", json.dumps(scoped).encode())
    assert answer.status_code == 400
    assert "'@sc%2fpkg'" in answer.json["error"]
    assert nothing_stored(admin)

    assert put(admin, "@sc%2fpkg", json.dumps(scoped).encode()).status_code == 201
    assert admin.get("/npm/js/@sc%2fpkg").status_code == 200
    for path in (
        "/npm/js/@sc%252fpkg",
        "/npm/js/%2540sc/pkg",
        "/npm/js/@sc/pkg/-/pkg-1.0.0%252etgz",
        "/npm/js/-/package/@sc%252fpkg/dist-tags",
    ):
        assert admin.get(path).status_code in (400, 404), path


def test_integrity_mismatch(admin, repo):
    doc = body("demo", "1.0.0", tarball("demo", "1.0.0"), integrity="sha512-" + "A" * 86 + "==")
    answer = put(admin, "demo", json.dumps(doc).encode())
    assert answer.status_code == 400
    assert "integrity" in answer.json["error"]
    assert nothing_stored(admin)


def test_name_mismatch_between_url_manifest_and_tarball(admin, repo):
    doc = body("demo", "1.0.0", tarball("other", "1.0.0"))
    answer = put(admin, "demo", json.dumps(doc).encode())
    assert answer.status_code == 400
    assert nothing_stored(admin)
    doc = body("demo", "1.0.0", tarball("demo", "1.0.0"))
    assert put(admin, "another", json.dumps(doc).encode()).status_code == 400
    assert nothing_stored(admin)


def test_malformed_json_and_base64(admin, repo):
    assert put(admin, "demo", b'{"name": "demo", ').status_code == 400
    doc = body("demo", "1.0.0", tarball("demo", "1.0.0"))
    doc["_attachments"]["demo-1.0.0.tgz"]["data"] = "!!!not base64!!!"
    assert put(admin, "demo", json.dumps(doc).encode()).status_code == 400
    assert nothing_stored(admin)


def test_oversized_body_is_413(admin, repo, services):
    object.__setattr__(services.settings, "max_package_upload", 1024 * 1024)
    client = admin.client
    big = body("demo", "1.0.0", tarball("demo", "1.0.0") + b"\0" * (2 * 1024 * 1024))
    answer = client.simulate_request(
        "PUT",
        "/npm/js/demo",
        headers=admin.headers({"Content-Type": "application/json"}),
        body=json.dumps(big).encode(),
    )
    assert answer.status_code == 413
    assert nothing_stored(admin)


def test_metadata_update_cannot_rewrite_manifests(admin, repo):
    doc = body("demo", "1.0.0", tarball("demo", "1.0.0"))
    assert put(admin, "demo", json.dumps(doc).encode()).status_code == 201
    current = admin.get("/npm/js/demo?write=true").json
    current["versions"]["1.0.0"]["dependencies"] = {"evil": "1.0.0"}
    answer = put(admin, "demo", json.dumps(current).encode())
    assert answer.status_code == 400
    assert "evil" not in json.dumps(admin.get("/npm/js/demo").json)


def test_reader_cannot_publish(admin, api_factory, repo):
    admin.post("/v1/users", {"name": "reader"})
    admin.put("/v1/repos/js/bindings/reader", {"roles": ["read"]})
    reader = api_factory.as_user("reader")
    doc = body("demo", "1.0.0", tarball("demo", "1.0.0"))
    assert put(reader, "demo", json.dumps(doc).encode()).status_code == 403


def test_a_client_chosen_host_neither_stores_rows_nor_fails(admin, repo, services):
    doc = body("demo", "1.0.0", tarball("demo", "1.0.0"))
    assert put(admin, "demo", json.dumps(doc).encode()).status_code == 201

    def stored_rows() -> int:
        with services.engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM documents").scalar_one())

    first = admin.get("/npm/js/demo", headers={"Host": "one.example"})
    rows = stored_rows()
    for n in range(5):
        answer = admin.get("/npm/js/demo", headers={"Host": f"evil{n}.example"})
        assert answer.json["versions"]["1.0.0"]["dist"]["tarball"].startswith(
            f"http://evil{n}.example/npm/js/"
        )
    assert stored_rows() == rows, "one stored packument serves every host name"
    long_host = admin.get("/npm/js/demo", headers={"Host": "h" * 700 + ".example"})
    assert long_host.status_code < 500
    assert first.headers["etag"] != admin.get("/npm/js/demo").headers["etag"]


def test_publish_held_back_by_a_policy_is_queued_not_lost(admin, repo):
    assert admin.put("/v1/repos/js/policy", {"typosquat": True}).status_code == 200
    first = body("requests", "1.0.0", tarball("requests", "1.0.0"))
    assert put(admin, "requests", json.dumps(first).encode()).status_code == 201
    squat = body("reqeusts", "1.0.0", tarball("reqeusts", "1.0.0"))
    answer = put(admin, "reqeusts", json.dumps(squat).encode())
    assert answer.status_code in (201, 202), answer.text
    queued = admin.get("/v1/quarantine").json["quarantine"]
    assert [q["package"] for q in queued] == ["reqeusts"]
    assert admin.get("/npm/js/reqeusts").status_code == 404


def test_gzip_bomb_tarball_is_refused_quickly(admin, repo):
    """A GiB of zeros in a 1 MB tarball: npm's 400 with the reason, without unpacking it all."""
    manifest = json.dumps({"name": "bomb", "version": "1.0.0"}).encode()
    tgz = tar_gz_bomb(
        1024 * 1024 * 1024, {"package/package.json": manifest}, zeros_name="package/z"
    )
    started = time.monotonic()
    answer = put(admin, "bomb", json.dumps(body("bomb", "1.0.0", tgz)).encode())
    assert time.monotonic() - started < 10
    assert answer.status_code == 400
    assert answer.json["error"] == (
        "the tarball unpacks to more than 64 MiB (the limit is 32 times its size, at least 64 MiB)"
    )
    assert nothing_stored(admin)
