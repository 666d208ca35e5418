"""Yank, deprecate, tombstone delete, restore and promotion through the REST API."""

from __future__ import annotations

import pytest

from tests.functional.versions_helpers import release

V = "/v1/repos/libs/packages/tool/versions/1.0"


@pytest.fixture
def published(admin, make_repo):
    make_repo("libs", format="generic")
    return release(admin, "libs", "tool", "1.0", {"tool.bin": b"payload"})


def test_yank_and_unyank(admin, published):
    yanked = admin.post(f"{V}/yank", {"reason": "broken build"})
    assert yanked.status_code == 200, yanked.text
    assert (yanked.json["yanked"], yanked.json["yank_reason"]) == (True, "broken build")
    assert admin.get(V).json["yanked"] is True
    assert admin.delete(f"{V}/yank").json["yanked"] is False


def test_deprecate_and_undeprecate(admin, published):
    assert admin.post(f"{V}/deprecation", {"message": "use 2.x"}).json["deprecated"] == "use 2.x"
    assert admin.get(V).json["deprecated"] == "use 2.x"
    assert admin.delete(f"{V}/deprecation").json["deprecated"] is None
    assert admin.post(f"{V}/deprecation", {}).status_code == 400


def test_delete_hides_then_restore_brings_back(admin, published):
    blob = f"/v1/repos/libs/blobs/{published['artifacts'][0]['digest']}"
    assert admin.delete(V).status_code == 200
    assert admin.get(V).status_code == 404
    assert admin.get(blob).status_code == 404, "deleted bytes are not served by digest either"
    assert admin.get("/v1/repos/libs/packages").json["packages"] == []
    restored = admin.post(f"{V}/restore")
    assert restored.status_code == 200, restored.text
    assert admin.get(V).json["state"] == "published"
    assert admin.get(blob).content == b"payload"
    assert admin.delete(V).status_code == 200
    again = admin.post(
        "/v1/repos/libs/packages/versions/drafts", {"package": "tool", "version": "1.0"}
    )
    assert again.status_code == 409, "a deleted version number is never reused"


def test_restore_after_retention_is_gone(admin, published, services):
    assert admin.delete(V).status_code == 200
    object.__setattr__(services.settings, "tombstone_retention", 0.0)
    assert admin.post(f"{V}/restore").status_code == 410


def test_writer_deletes_but_only_admin_restores(admin, api_factory, published):
    admin.post("/v1/users", {"name": "dev"})
    assert admin.put("/v1/repos/libs/bindings/dev", {"roles": ["write"]}).status_code == 200
    dev = api_factory.as_user("dev")
    assert dev.delete(V).status_code == 200
    assert dev.post(f"{V}/restore").status_code == 403


def test_lifecycle_actions_are_audited(admin, published):
    admin.post(f"{V}/yank", {"reason": "r"})
    admin.post(f"{V}/deprecation", {"message": "m"})
    admin.delete(V)
    admin.post(f"{V}/restore")
    actions = {e["action"] for e in admin.get("/v1/audit?repo=libs").json["entries"]}
    assert {"version.yank", "version.deprecate", "version.delete", "version.restore"} <= actions


def test_promote_copies_by_reference(admin, published, make_repo, services):
    make_repo("prod", format="generic")
    promoted = admin.post(f"{V}/promote", {"target": "prod"})
    assert promoted.status_code == 201, promoted.text
    copy = admin.get("/v1/repos/prod/packages/tool/versions/1.0").json
    assert copy["promoted_from"] == "libs/tool@1.0"
    assert copy["artifacts"][0]["digest"] == published["artifacts"][0]["digest"]
    blob = admin.get(f"/v1/repos/prod/blobs/{copy['artifacts'][0]['digest']}")
    assert blob.status_code == 200
    assert blob.content == b"payload"
    assert admin.post(f"{V}/promote", {"target": "prod"}).status_code == 409
    actions = [e["action"] for e in admin.get("/v1/audit?repo=prod").json["entries"]]
    assert "version.promote" in actions


def test_promote_needs_promote_on_source_and_write_on_target(
    admin, api_factory, published, make_repo
):
    make_repo("prod", format="generic")
    admin.post("/v1/users", {"name": "rel"})
    rel = api_factory.as_user("rel")
    admin.put("/v1/repos/libs/bindings/rel", {"roles": ["read"]})
    assert rel.post(f"{V}/promote", {"target": "prod"}).status_code == 403
    admin.put("/v1/repos/libs/bindings/rel", {"roles": ["read", "promote"]})
    assert rel.post(f"{V}/promote", {"target": "prod"}).status_code == 403
    admin.put("/v1/repos/prod/bindings/rel", {"roles": ["write"]})
    assert rel.post(f"{V}/promote", {"target": "prod"}).status_code == 201


def test_promote_across_formats_is_refused(admin, published, make_repo):
    make_repo("py", format="pypi")
    assert admin.post(f"{V}/promote", {"target": "py"}).status_code == 400
