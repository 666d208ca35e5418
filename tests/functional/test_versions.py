"""The version model through the REST API: drafts, atomic publish, reads, labels."""

from __future__ import annotations

import pytest

from tests.functional.versions_helpers import add_file, draft, publish, release, upload

BASE = "/v1/repos/{repo}/packages"


@pytest.fixture
def repo(make_repo):
    make_repo("libs", format="generic")
    return "libs"


def test_publish_two_files_and_read_them_back(admin, repo):
    published = release(admin, repo, "tool", "1.0", {"tool.tgz": b"a" * 100, "tool.sig": b"s"})
    assert published["state"] == "published"
    assert sorted(a["filename"] for a in published["artifacts"]) == ["tool.sig", "tool.tgz"]
    version = admin.get(f"/v1/repos/{repo}/packages/tool/versions/1.0").json
    sizes = {a["filename"]: a["size"] for a in version["artifacts"]}
    assert sizes == {"tool.tgz": 100, "tool.sig": 1}
    package = admin.get(f"/v1/repos/{repo}/packages/tool").json
    assert [v["version"] for v in package["versions"]] == ["1.0"]
    listed = admin.get(f"/v1/repos/{repo}/packages").json["packages"]
    assert [p["name"] for p in listed] == ["tool"]


def test_unpublished_draft_is_invisible(admin, repo):
    opened = draft(admin, repo, "tool", "1.0")
    assert (
        add_file(admin, repo, opened["id"], "a.bin", upload(admin, repo, b"x")).status_code == 201
    )
    assert admin.get(f"/v1/repos/{repo}/packages/tool/versions/1.0").status_code == 404
    assert admin.get(f"/v1/repos/{repo}/packages").json["packages"] == []


def test_second_publish_of_same_version_is_conflict(admin, repo):
    first = draft(admin, repo, "tool", "1.0")
    second = draft(admin, repo, "tool", "1.0")
    digest = upload(admin, repo, b"bytes")
    for opened in (first, second):
        assert add_file(admin, repo, opened["id"], "f.bin", digest).status_code == 201
    assert publish(admin, repo, first["id"]).status_code == 200
    losing = publish(admin, repo, second["id"])
    assert losing.status_code == 409
    assert losing.json["error"]["code"] == "conflict"
    again = admin.post(
        f"/v1/repos/{repo}/packages/versions/drafts", {"package": "tool", "version": "1.0"}
    )
    assert again.status_code == 409


def test_files_must_reference_blobs_of_this_repository(admin, repo, make_repo):
    make_repo("other", format="generic")
    foreign = upload(admin, "other", b"secret bytes of another repository")
    opened = draft(admin, repo, "tool", "1.0")
    refused = add_file(admin, repo, opened["id"], "f.bin", foreign)
    assert refused.status_code == 400
    unknown = add_file(admin, repo, opened["id"], "g.bin", "sha256:" + "0" * 64)
    assert unknown.status_code == 400
    assert (
        admin.get(f"/v1/repos/{repo}/packages/versions/drafts/{opened['id']}").json["artifacts"]
        == []
    )


@pytest.mark.parametrize("filename", ["../x", "/abs", "a\\b", "a/../b", "nul\x00", "", "x" * 300])
def test_hostile_file_names_are_refused(admin, repo, filename):
    opened = draft(admin, repo, "tool", "1.0")
    digest = upload(admin, repo, b"x")
    assert add_file(admin, repo, opened["id"], filename, digest).status_code == 400


def test_empty_draft_cannot_be_published_and_files_can_be_removed(admin, repo):
    opened = draft(admin, repo, "tool", "1.0")
    assert publish(admin, repo, opened["id"]).status_code == 400
    digest = upload(admin, repo, b"x")
    assert add_file(admin, repo, opened["id"], "dir/f.bin", digest).status_code == 201
    assert add_file(admin, repo, opened["id"], "dir/f.bin", digest).status_code == 409
    removed = admin.delete(
        f"/v1/repos/{repo}/packages/versions/drafts/{opened['id']}/artifacts/dir/f.bin"
    )
    assert removed.status_code == 200, removed.text
    assert (
        admin.get(f"/v1/repos/{repo}/packages/versions/drafts/{opened['id']}").json["artifacts"]
        == []
    )


def test_invalid_versions_are_refused(admin, repo):
    for bad in ("", "1.0 beta", "../1", "-1"):
        result = admin.post(
            f"/v1/repos/{repo}/packages/versions/drafts", {"package": "tool", "version": bad}
        )
        assert result.status_code == 400, bad


def test_expired_draft_is_gone(admin, repo, services):
    object.__setattr__(services.settings, "draft_ttl", 0.0)
    opened = draft(admin, repo, "tool", "1.0")
    assert admin.get(f"/v1/repos/{repo}/packages/versions/drafts/{opened['id']}").status_code == 404


def test_discarded_draft_disappears(admin, repo):
    opened = draft(admin, repo, "tool", "1.0")
    assert (
        admin.delete(f"/v1/repos/{repo}/packages/versions/drafts/{opened['id']}").status_code == 200
    )
    assert admin.get(f"/v1/repos/{repo}/packages/versions/drafts/{opened['id']}").status_code == 404


def test_scoped_names_use_two_segments(admin, make_repo):
    make_repo("js", format="npm")
    release(admin, "js", "@acme/widget", "2.0.0", {"widget-2.0.0.tgz": b"tgz"})
    found = admin.get("/v1/repos/js/packages/@acme/widget/versions/2.0.0")
    assert found.status_code == 200, found.text
    assert found.json["package"] == "@acme/widget"
    assert admin.get("/v1/repos/js/packages/acme/widget").status_code == 404


def test_labels_point_at_published_versions(admin, repo):
    release(admin, repo, "tool", "1.0", {"a": b"1"})
    release(admin, repo, "tool", "2.0", {"b": b"2"})
    assert (
        admin.put(f"/v1/repos/{repo}/packages/tool/labels/stable", {"version": "1.0"}).status_code
        == 200
    )
    assert (
        admin.put(f"/v1/repos/{repo}/packages/tool/labels/stable", {"version": "2.0"}).status_code
        == 200
    )
    assert admin.get(f"/v1/repos/{repo}/packages/tool").json["labels"] == {"stable": "2.0"}
    assert (
        admin.put(f"/v1/repos/{repo}/packages/tool/labels/x", {"version": "9.9"}).status_code == 404
    )
    assert admin.delete(f"/v1/repos/{repo}/packages/tool/labels/stable").status_code == 200
    assert admin.get(f"/v1/repos/{repo}/packages/tool").json["labels"] == {}


def test_reader_cannot_draft_but_can_read(admin, api_factory, repo):
    release(admin, repo, "tool", "1.0", {"a": b"1"})
    reader = api_factory.as_user("reader")
    assert admin.put(f"/v1/repos/{repo}/bindings/reader", {"roles": ["read"]}).status_code == 200
    assert reader.get(f"/v1/repos/{repo}/packages/tool/versions/1.0").status_code == 200
    denied = reader.post(
        f"/v1/repos/{repo}/packages/versions/drafts", {"package": "t", "version": "1"}
    )
    assert denied.status_code == 403


def test_publish_is_audited(admin, repo):
    release(admin, repo, "tool", "1.0", {"a": b"1"})
    actions = [e["action"] for e in admin.get(f"/v1/audit?repo={repo}").json["entries"]]
    assert "version.publish" in actions
    assert "draft.create" in actions
