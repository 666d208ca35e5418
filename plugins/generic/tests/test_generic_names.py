"""Generic paths are names: one spelling per name (NFC), nothing invisible, no file/folder clash."""

from __future__ import annotations

import hashlib

import pytest

DATA = b"payload"


@pytest.fixture
def repo(make_repo):
    make_repo("files", format="generic")
    return "/generic/files"


def put(api, path, data=DATA):
    return api.client.simulate_request("PUT", path, headers=api.headers(), body=data)


def test_composed_and_decomposed_spellings_are_one_file(admin, repo):
    composed, decomposed = "caf%C3%A9", "cafe%CC%81"  # é as U+00E9, and e + U+0301
    assert put(admin, f"{repo}/app/1.0/{composed}.txt", b"one").status_code == 201
    again = put(admin, f"{repo}/app/1.0/{decomposed}.txt", b"two")
    assert again.status_code == 409, again.text
    assert admin.get(f"{repo}/app/1.0/{decomposed}.txt").content == b"one"
    assert put(admin, f"{repo}/{decomposed}/1.0/x", b"pkg").status_code == 201
    assert admin.get(f"{repo}/{composed}/1.0/x").content == b"pkg"
    names = {p["name"] for p in admin.get("/v1/repos/files/packages").json["packages"]}
    assert names == {"app", "caf\u00e9"}
    files = admin.get("/v1/repos/files/packages/app/versions/1.0").json["artifacts"]
    assert [f["filename"] for f in files] == ["caf\u00e9.txt"]


HIDDEN = {
    "right-to-left override": "fw/1.0/invoice%E2%80%AEfdp.exe",
    "left-to-right mark": "fw%E2%80%8E/1.0/x",
    "zero-width space": "fw/1.0/a%E2%80%8Bb",
    "byte order mark": "fw/1.0/%EF%BB%BFa",
    "soft hyphen": "fw/1%C2%AD/x",
    "line separator": "fw/1.0/a%E2%80%A8b",
    "paragraph separator": "fw/1.0/a%E2%80%A9b",
    "C1 control": "fw/1.0/a%C2%85b",
    "invalid UTF-8": "fw/1.0/a%FFb",
    "truncated UTF-8": "fw/1.0/a%E2%80",
    "U+FFFD itself": "fw/1.0/a%EF%BF%BDb",
    "full-width dots": "fw/1.0/%EF%BC%8E%EF%BC%8E",
    "full-width solidus": "fw/1.0/a%EF%BC%8Fb",
    "ideographic full stop": "fw/1.0/a%E3%80%82b",
    "one dot leader": "fw/%E2%80%A4%E2%80%A4/x",
    "division slash": "fw/1.0/a%E2%88%95b",
}


@pytest.mark.parametrize("path", HIDDEN.values(), ids=HIDDEN.keys())
def test_invisible_and_look_alike_characters_are_a_clear_400(admin, repo, services, path):
    refused = put(admin, f"{repo}/{path}", b"evil")
    assert refused.status_code == 400, refused.text
    assert "path" in refused.json["error"]["message"]
    assert services.blobs.size_of("sha256:" + hashlib.sha256(b"evil").hexdigest()) is None
    assert admin.get("/v1/repos/files/packages").json["packages"] == []
    assert admin.get(f"{repo}/{path}").status_code == 400


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("docs/1.0/a", "docs/1.0/a/b"),  # a file, then a folder of the same name
        ("docs/1.0/a/b", "docs/1.0/a"),  # a folder, then a file of the same name
        ("docs/1.0/x/y/z", "docs/1.0/x/y"),
        ("docs/1.0/x/y", "docs/1.0/x/y/z/w"),
    ],
)
def test_a_file_and_a_folder_of_one_name_cannot_coexist(admin, repo, first, second):
    assert put(admin, f"{repo}/{first}").status_code == 201
    clash = put(admin, f"{repo}/{second}", b"other")
    assert clash.status_code == 409, clash.text
    assert "cannot both exist" in clash.json["error"]["message"]
    files = admin.get("/v1/repos/files/packages/docs/versions/1.0").json["artifacts"]
    assert [f["filename"] for f in files] == [first.removeprefix("docs/1.0/")]


def test_names_sharing_a_prefix_are_no_clash(admin, repo):
    for path in ("docs/1.0/a", "docs/1.0/ab/c", "docs/1.0/a.d/e", "docs/1.0/b/a"):
        assert put(admin, f"{repo}/{path}").status_code == 201, path
