"""The Go module proxy over HTTP in process: upload, the GOPROXY reads, refusals, permissions."""

from __future__ import annotations

import hashlib
import json

import pytest
from goproxy_zips import greeter, module_zip

BASE = "/go/mods"
MODULE = "example.com/hello"


def put(api, path: str, data: bytes):
    return api.client.simulate_request("PUT", f"{BASE}/{path}", headers=api.headers(), body=data)


@pytest.fixture
def repo(make_repo):
    make_repo("mods", format="go")
    return BASE


def test_upload_then_every_read(admin, repo):
    first = greeter(MODULE, "v1.0.0")
    assert put(admin, f"{MODULE}/@v/v1.0.0.zip", first).status_code == 201
    assert (
        put(admin, f"{MODULE}/@v/v1.1.0-rc.1.zip", greeter(MODULE, "v1.1.0-rc.1")).status_code
        == 201
    )
    assert admin.get(f"{repo}/{MODULE}/@v/list").text == "v1.0.0\nv1.1.0-rc.1\n"
    latest = admin.get(f"{repo}/{MODULE}/@latest")
    assert latest.json["Version"] == "v1.0.0", "a release before a newer pre-release"
    info = admin.get(f"{repo}/{MODULE}/@v/v1.0.0.info")
    assert info.headers["content-type"] == "application/json"
    assert info.json["Version"] == "v1.0.0"
    assert info.json["Time"].endswith("Z")
    mod = admin.get(f"{repo}/{MODULE}/@v/v1.0.0.mod")
    assert mod.text == "module example.com/hello\n\ngo 1.19\n"
    downloaded = admin.get(f"{repo}/{MODULE}/@v/v1.0.0.zip")
    assert downloaded.content == first
    assert downloaded.headers["x-checksum-sha256"] == hashlib.sha256(first).hexdigest()


def test_head_answers_like_get(admin, repo):
    data = greeter(MODULE, "v1.0.0")
    put(admin, f"{MODULE}/@v/v1.0.0.zip", data)
    head = admin.client.simulate_head(f"{repo}/{MODULE}/@v/v1.0.0.zip", headers=admin.headers())
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(data))
    assert head.content == b""


def test_versions_never_change(admin, repo):
    assert put(admin, f"{MODULE}/@v/v1.0.0.zip", greeter(MODULE, "v1.0.0")).status_code == 201
    again = put(admin, f"{MODULE}/@v/v1.0.0.zip", greeter(MODULE, "v1.0.0"))
    assert (again.status_code, again.json["created"]) == (200, False), "a retry succeeds"
    other = put(admin, f"{MODULE}/@v/v1.0.0.zip", greeter(MODULE, "v1.0.0", "changed"))
    assert other.status_code == 409
    assert "versions never change" in other.text
    assert admin.get(f"{repo}/{MODULE}/@v/v1.0.0.zip").content == greeter(MODULE, "v1.0.0")


def test_case_escaped_paths_and_versions(admin, repo):
    module = "example.com/Azure/Hello"
    assert put(admin, "example.com/!azure/!hello/@v/v1.0.0-RC1.zip", b"").status_code == 400
    data = greeter(module, "v1.0.0-RC1")
    assert put(admin, "example.com/!azure/!hello/@v/v1.0.0-!r!c1.zip", data).status_code == 201
    assert admin.get(f"{repo}/example.com/!azure/!hello/@v/list").text == "v1.0.0-RC1\n"
    assert admin.get(f"{repo}/example.com/!azure/!hello/@v/v1.0.0-!r!c1.zip").content == data
    assert admin.get(f"{repo}/example.com/azure/hello/@v/list").status_code == 404


def test_deleted_versions_are_gone(admin, repo):
    put(admin, f"{MODULE}/@v/v1.0.0.zip", greeter(MODULE, "v1.0.0"))
    put(admin, f"{MODULE}/@v/v1.1.0.zip", greeter(MODULE, "v1.1.0"))
    assert admin.delete(f"{repo}/{MODULE}/@v/v1.1.0.zip").status_code == 200
    for suffix in ("info", "mod", "zip"):
        assert admin.get(f"{repo}/{MODULE}/@v/v1.1.0.{suffix}").status_code == 410
    assert admin.get(f"{repo}/{MODULE}/@v/list").text == "v1.0.0\n"
    assert admin.get(f"{repo}/{MODULE}/@latest").json["Version"] == "v1.0.0"
    again = put(admin, f"{MODULE}/@v/v1.1.0.zip", greeter(MODULE, "v1.1.0"))
    assert again.status_code == 409, "a version number is never used twice"
    assert admin.delete(f"{repo}/{MODULE}/@v/v9.0.0.zip").status_code == 404
    assert admin.delete(f"{repo}/{MODULE}/@v/list").status_code == 400


def test_misses_are_404_in_plain_text(admin, repo):
    put(admin, f"{MODULE}/@v/v1.0.0.zip", greeter(MODULE, "v1.0.0"))
    for path in ("example.com/@v/list", "example.com/@latest", f"{MODULE}/@v/master.info"):
        missed = admin.get(f"{repo}/{path}")
        assert missed.status_code == 404, path
        assert missed.headers["content-type"].startswith("text/plain"), "go shows it as is"
    assert admin.get(f"{repo}/{MODULE}/@v/v9.9.9.zip").text == (
        "unknown revision example.com/hello@v9.9.9\n"
    )


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        (f"{MODULE}/@v/1.0.0.zip", greeter(MODULE, "1.0.0"), "is not canonical"),
        (f"{MODULE}/@v/v2.0.0.zip", greeter(MODULE, "v2.0.0"), "a v2 module path ends in /v2"),
        (f"{MODULE}/@v/list", b"", "upload a module by PUT of its zip: $module/@v/$version.zip"),
        (f"{MODULE}/@v/v1.0.0.zip", b"not a zip", "not a valid zip file"),
        (f"{MODULE}/@v/v1.0.0.zip", greeter(MODULE, "v1.0.1"), "is not under"),
        (
            f"{MODULE}/@v/v1.0.0.zip",
            module_zip(MODULE, "v1.0.0", {"go.mod": "module example.com/other\n"}),
            "go.mod declares module 'example.com/other', not 'example.com/hello'",
        ),
    ],
)
def test_bad_uploads_are_refused_and_nothing_published(admin, repo, path, data, message):
    refused = put(admin, path, data)
    assert refused.status_code == 400
    assert message in refused.text
    assert admin.get("/v1/repos/mods/packages").json["packages"] == []


def test_upload_is_audited(admin, repo):
    put(admin, f"{MODULE}/@v/v1.0.0.zip", greeter(MODULE, "v1.0.0"))
    entries = admin.get("/v1/audit?action=version.publish").json["entries"]
    assert any(MODULE in json.dumps(entry) for entry in entries)


def test_permissions(admin, anonymous, api_factory, make_repo):
    make_repo("mods", format="go")
    data = greeter(MODULE, "v1.0.0")
    put(admin, f"{MODULE}/@v/v1.0.0.zip", data)
    assert anonymous.get(f"{BASE}/{MODULE}/@v/list").status_code == 401
    admin.post("/v1/users", {"name": "reader"})
    admin.put("/v1/repos/mods/bindings/reader", {"roles": ["read"]})
    reader = api_factory.as_user("reader")
    assert reader.get(f"{BASE}/{MODULE}/@v/v1.0.0.zip").content == data
    assert put(reader, f"{MODULE}/@v/v1.1.0.zip", greeter(MODULE, "v1.1.0")).status_code == 403
    denied = admin.get("/v1/audit?action=version.publish&outcome=denied").json["entries"]
    assert len(denied) == 1
    admin.patch("/v1/repos/mods", {"public": True})
    assert anonymous.get(f"{BASE}/{MODULE}/@v/list").text == "v1.0.0\n"
    assert put(anonymous, f"{MODULE}/@v/v1.1.0.zip", greeter(MODULE, "v1.1.0")).status_code == 401
