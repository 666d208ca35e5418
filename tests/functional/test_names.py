"""One rule for every stored name, in every format: NFC, nothing invisible, no file/folder clash.

The same class of hole as generic paths (issue 13): a package or file name
created through the core REST API, or by any format plugin, passes the core's
one validator (``versions.validation``).
"""

from __future__ import annotations

import pytest

from tests.functional.versions_helpers import add_file, draft, release, upload

DRAFTS = "/v1/repos/{repo}/packages/versions/drafts"


@pytest.fixture(params=["generic", "pypi", "npm"])
def repo(request, make_repo):
    make_repo("libs", format=request.param)
    return "libs"


def open_draft(api, repo, package, version="1.0"):
    return api.post(DRAFTS.format(repo=repo), {"package": package, "version": version})


@pytest.mark.parametrize(
    "package",
    ["tool\u202e", "to\u200bol", "\ufefftool", "tool\ufffd", "to\x85ol", "tool\u2028", "a\uff0eb"],
)
def test_a_package_name_with_hidden_characters_is_a_400(admin, repo, package):
    refused = open_draft(admin, repo, package)
    assert refused.status_code == 400, refused.text
    assert "package name" in refused.json["error"]["message"]
    assert admin.get(f"/v1/repos/{repo}/packages").json["packages"] == []


@pytest.mark.parametrize("version", ["1.0\n", "1.0\u202e", "\u0661.0"])
def test_a_version_with_a_trailing_newline_or_other_text_is_a_400(admin, repo, version):
    assert open_draft(admin, repo, "tool", version).status_code == 400


def test_a_decomposed_package_name_is_stored_composed(admin, make_repo):
    make_repo("files", format="generic")
    release(admin, "files", "cafe\u0301", "1.0", {"a.txt": b"a"})
    listed = admin.get("/v1/repos/files/packages").json["packages"]
    assert [p["name"] for p in listed] == ["caf\u00e9"]
    for spelling in ("caf%C3%A9", "cafe%CC%81"):
        assert admin.get(f"/v1/repos/files/packages/{spelling}").status_code == 200, spelling
    assert open_draft(admin, "files", "caf\u00e9").status_code == 409  # 1.0 exists


@pytest.mark.parametrize(
    ("filename", "why"),
    [
        ("invoice\u202efdp.exe", "U+202E"),
        ("a\u200bb", "U+200B"),
        ("cafe\u0301.txt", "NFC"),
        ("\uff0e\uff0e/x", "U+FF0E"),
        ("a\ufffd", "UTF-8"),
    ],
)
def test_a_file_name_with_hidden_characters_is_a_400(admin, make_repo, filename, why):
    make_repo("files", format="generic")
    opened = draft(admin, "files", "tool", "1.0")
    refused = add_file(admin, "files", opened["id"], filename, upload(admin, "files", b"x"))
    assert refused.status_code == 400, refused.text
    assert why in refused.json["error"]["message"]


@pytest.mark.parametrize(("first", "second"), [("a", "a/b"), ("a/b", "a"), ("a/b/c", "a/b")])
def test_a_file_and_a_folder_of_one_name_cannot_share_a_draft(admin, make_repo, first, second):
    make_repo("files", format="generic")
    opened = draft(admin, "files", "tool", "1.0")
    digest = upload(admin, "files", b"x")
    assert add_file(admin, "files", opened["id"], first, digest).status_code == 201
    clash = add_file(admin, "files", opened["id"], second, digest)
    assert clash.status_code == 409, clash.text
    assert "cannot both exist" in clash.json["error"]["message"]


def test_a_label_with_a_trailing_newline_is_a_400(admin, make_repo):
    make_repo("files", format="generic")
    release(admin, "files", "tool", "1.0", {"a.txt": b"a"})
    answer = admin.put("/v1/repos/files/packages/tool/labels/beta%0A", {"version": "1.0"})
    assert answer.status_code == 400, answer.text
    assert admin.get("/v1/repos/files/packages/tool").json["labels"] == {}
