"""Disabling and deleting users; groups whose roles their members hold (the union)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import falcon.testing
import pytest
from urllib3 import encode_multipart_formdata

from artifortress.app import create_app
from artifortress.container import Services
from artifortress.errors import Conflict
from artifortress.testing.helpers import Api
from plugins.npm.tests.test_npm_http import body as npm_body
from plugins.pypi.tests.pypi_dists import make_wheel
from tests.functional.blob_helpers import payload, start, upload
from tests.functional.events.helpers import drain

from .helpers import assert_error, audit_rows


@pytest.fixture
def second_process(settings):
    """Another worker process: its own Services (and token cache) on the same database."""
    other = Services.build(settings)
    yield falcon.testing.TestClient(create_app(other))
    other.close()


def _whoami(client: falcon.testing.TestClient, token: str) -> int:
    return client.simulate_get(
        "/v1/whoami", headers={"Authorization": f"Bearer {token}"}
    ).status_code


# -- disable / enable ------------------------------------------------------------------------


def test_disabling_stops_every_token_and_enabling_brings_them_back(api_factory, admin, client):
    first, second = api_factory.token_for("bob"), api_factory.token_for("bob")
    assert _whoami(client, first) == 200
    assert _whoami(client, second) == 200
    disabled = admin.patch("/v1/users/bob", {"disabled": True})
    assert disabled.status_code == 200, disabled.text
    assert disabled.json["disabled"] is True
    # Immediately on this process: its cached lookups of bob's tokens are dropped.
    assert _whoami(client, first) == 401
    assert _whoami(client, second) == 401
    listed = {u["name"]: u for u in admin.get("/v1/users").json["users"]}
    assert listed["bob"]["disabled"] is True
    assert admin.patch("/v1/users/bob", {"disabled": False}).json["disabled"] is False
    assert _whoami(client, first) == 200
    assert _whoami(client, second) == 200


def test_disabling_reaches_another_process_within_one_second(api_factory, admin, second_process):
    token = api_factory.token_for("bob")
    assert _whoami(second_process, token) == 200  # cached by the other process
    assert admin.patch("/v1/users/bob", {"disabled": True}).status_code == 200
    disabled_at = time.monotonic()
    while _whoami(second_process, token) == 200:
        assert time.monotonic() - disabled_at < 1.0, "a disabled user's token worked after 1 s"
        time.sleep(0.02)
    assert _whoami(second_process, token) == 401


def test_no_token_is_created_for_a_disabled_user(api_factory, admin):
    api_factory.token_for("bob")
    admin.patch("/v1/users/bob", {"disabled": True})
    refused = admin.post("/v1/tokens", {"name": "t", "user": "bob"})
    assert_error(refused, 409)
    assert "disabled" in refused.json["error"]["message"]
    admin.patch("/v1/users/bob", {"disabled": False})
    assert admin.post("/v1/tokens", {"name": "t", "user": "bob"}).status_code == 201


def test_disable_and_enable_are_audited(api_factory, admin, services):
    api_factory.token_for("bob")
    admin.patch("/v1/users/bob", {"disabled": True})
    admin.patch("/v1/users/bob", {"disabled": False})
    rows = audit_rows(services, target="bob")
    assert [(r.action, r.outcome, r.actor) for r in rows[-2:]] == [
        ("user.disable", "success", "admin"),
        ("user.enable", "success", "admin"),
    ]


def test_an_admin_cannot_disable_or_delete_themselves(admin, services):
    assert_error(admin.patch("/v1/users/admin", {"disabled": True}), 409)
    assert_error(admin.delete("/v1/users/admin"), 409)
    assert admin.get("/v1/whoami").status_code == 200


@pytest.mark.parametrize(
    "body", [{}, {"disabled": "yes"}, {"disabled": True, "admin": True}, [], None]
)
def test_a_bad_patch_is_a_400_and_changes_nothing(api_factory, admin, client, body):
    token = api_factory.token_for("bob")
    assert_error(admin.patch("/v1/users/bob", body), 400)
    assert admin.get("/v1/users/bob").json["disabled"] is False
    assert _whoami(client, token) == 200


def test_unknown_users_are_404(admin):
    assert_error(admin.patch("/v1/users/ghost", {"disabled": True}), 404)
    assert_error(admin.delete("/v1/users/ghost"), 404)
    assert_error(admin.get("/v1/users/ghost"), 404)


def test_non_admins_are_refused_and_audited(api_factory, services):
    api_factory.token_for("bob")
    reader = api_factory.as_user("reader")
    for result in (
        reader.patch("/v1/users/bob", {"disabled": True}),
        reader.delete("/v1/users/bob"),
        reader.post("/v1/groups", {"name": "team"}),
    ):
        assert_error(result, 403)
    denied = audit_rows(services, outcome="denied", actor="reader")
    assert [r.action for r in denied] == ["user.update", "user.delete", "group.create"]


# -- delete --------------------------------------------------------------------------------


def test_delete_revokes_tokens_and_bindings_and_keeps_audit_rows(
    api_factory, admin, client, make_repo, services
):
    make_repo("files")
    bob = api_factory.as_user("bob")
    assert admin.put("/v1/repos/files/bindings/bob", {"roles": ["write"]}).status_code == 200
    assert admin.post("/v1/groups", {"name": "team"}).status_code == 201
    assert admin.put("/v1/groups/team/members/bob").status_code == 200
    assert bob.post("/v1/tokens", {"name": "mine"}).status_code == 201  # bob acts: audited

    deleted = admin.delete("/v1/users/bob")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json == {
        "name": "bob",
        "deleted": True,
        "tokens_revoked": 2,
        "bindings_removed": 1,
        "memberships_removed": 1,
    }
    assert _whoami(client, bob.token or "") == 401
    assert "bob" not in [u["name"] for u in admin.get("/v1/users").json["users"]]
    assert_error(admin.get("/v1/users/bob"), 404)
    assert admin.get("/v1/repos/files/bindings").json["bindings"] == []
    assert admin.get("/v1/groups/team").json["members"] == []
    # The audit trail still names bob, as actor and as target.
    assert [r.action for r in audit_rows(services, actor="bob")] == ["token.create"]
    assert audit_rows(services, action="user.delete")[-1].target == "bob"


def test_a_deleted_users_name_is_not_reused(api_factory, admin):
    api_factory.token_for("bob")
    assert admin.delete("/v1/users/bob").status_code == 200
    again = admin.post("/v1/users", {"name": "bob"})
    assert_error(again, 409)
    assert "not reused" in again.json["error"]["message"]
    assert_error(admin.put("/v1/groups/x/members/bob"), 404)
    with pytest.raises(Conflict, match="not reused"):
        api_factory.token_for("bob")  # the operator's CLI path refuses it too


# -- groups --------------------------------------------------------------------------------


def _team(admin: Api, *members: str, name: str = "team") -> None:
    assert admin.post("/v1/groups", {"name": name}).status_code == 201
    for member in members:
        assert admin.put(f"/v1/groups/{name}/members/{member}").status_code == 200


def test_group_crud_and_bindings_listing(api_factory, admin, make_repo):
    make_repo("files")
    api_factory.token_for("bob")
    _team(admin, "bob")
    assert_error(admin.post("/v1/groups", {"name": "team"}), 409)
    assert_error(admin.post("/v1/groups", {"name": "bad name"}), 400)
    assert admin.get("/v1/groups").json["groups"][0]["members"] == ["bob"]
    bound = admin.put("/v1/repos/files/group-bindings/team", {"roles": ["write"]})
    assert bound.json == {"group": "team", "roles": ["write"]}
    assert admin.get("/v1/repos/files/bindings").json["group_bindings"] == [
        {"group": "team", "roles": ["write"]}
    ]
    assert_error(admin.put("/v1/repos/files/group-bindings/ghost", {"roles": ["read"]}), 404)
    assert_error(admin.put("/v1/repos/files/group-bindings/team", {"roles": ["root"]}), 400)
    assert_error(admin.delete("/v1/groups/team/members/admin"), 404)  # no member
    assert admin.delete("/v1/groups/team").status_code == 200
    assert admin.get("/v1/repos/files/bindings").json["group_bindings"] == []
    assert admin.get("/v1/groups").json["groups"] == []


def _generic_put(api: Api, repo: str, path: str, data: bytes) -> int:
    headers = api.headers({"X-Checksum-Sha256": hashlib.sha256(data).hexdigest()})
    return api.client.simulate_put(
        f"/generic/{repo}/{path}", headers=headers, body=data
    ).status_code


def test_group_roles_grant_read_and_write_through_generic_routes(api_factory, admin, make_repo):
    make_repo("files")
    bob = api_factory.as_user("bob")
    _team(admin, "bob")
    assert _generic_put(admin, "files", "app/1.0/a.bin", b"a") == 201
    assert bob.get("/generic/files/app/1.0/a.bin").status_code == 403
    admin.put("/v1/repos/files/group-bindings/team", {"roles": ["read"]})
    assert bob.get("/generic/files/app/1.0/a.bin").status_code == 200
    assert _generic_put(bob, "files", "app/2.0/a.bin", b"b") == 403
    admin.put("/v1/repos/files/group-bindings/team", {"roles": ["write"]})
    assert _generic_put(bob, "files", "app/2.0/a.bin", b"b") == 201
    # Removing the member takes the group's roles away with the next request.
    assert admin.delete("/v1/groups/team/members/bob").status_code == 200
    assert bob.get("/generic/files/app/1.0/a.bin").status_code == 403
    assert _generic_put(bob, "files", "app/3.0/a.bin", b"c") == 403


def _pypi_upload(api: Api, repo: str, tmp: Path) -> int:
    data = make_wheel(tmp).read_bytes()
    body, content_type = encode_multipart_formdata(
        {
            ":action": "file_upload",
            "protocol_version": "1",
            "name": "Foo.Bar_baz",
            "version": "1.0",
            "filetype": "bdist_wheel",
            "pyversion": "py3",
            "metadata_version": "2.1",
            "sha256_digest": hashlib.sha256(data).hexdigest(),
            "content": ("foo_bar_baz-1.0-py3-none-any.whl", data, "application/octet-stream"),
        }
    )
    headers = api.headers({"Content-Type": content_type})
    return api.client.simulate_post(f"/pypi/{repo}/legacy/", headers=headers, body=body).status_code


def test_group_roles_grant_read_and_write_through_pypi(api_factory, admin, make_repo, tmp_path):
    make_repo("py", format="pypi")
    bob = api_factory.as_user("bob")
    _team(admin, "bob")
    assert _pypi_upload(bob, "py", tmp_path) == 403
    assert bob.get("/pypi/py/simple/").status_code == 403
    admin.put("/v1/repos/py/group-bindings/team", {"roles": ["write"]})
    assert _pypi_upload(bob, "py", tmp_path) == 200
    assert bob.get("/pypi/py/simple/foo-bar-baz/").status_code == 200


def _npm_publish(api: Api, repo: str, name: str) -> int:
    import io
    import tarfile

    buffer = io.BytesIO()
    manifest = json.dumps({"name": name, "version": "1.0.0"}).encode()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("package/package.json")
        info.size = len(manifest)
        archive.addfile(info, io.BytesIO(manifest))
    body = json.dumps(npm_body(name, "1.0.0", buffer.getvalue())).encode()
    headers = api.headers({"Content-Type": "application/json"})
    return api.client.simulate_put(f"/npm/{repo}/{name}", headers=headers, body=body).status_code


def test_group_roles_grant_read_and_write_through_npm(api_factory, admin, make_repo):
    make_repo("js", format="npm")
    bob = api_factory.as_user("bob")
    _team(admin, "bob")
    assert _npm_publish(bob, "js", "left-pad") == 403
    admin.put("/v1/repos/js/group-bindings/team", {"roles": ["write"]})
    assert _npm_publish(bob, "js", "left-pad") == 201
    assert bob.get("/npm/js/left-pad").status_code == 200
    admin.put("/v1/repos/js/group-bindings/team", {"roles": []})
    assert bob.get("/npm/js/left-pad").status_code == 403


def test_search_shows_what_the_groups_let_one_read(api_factory, admin, make_repo, services):
    make_repo("files")
    assert _generic_put(admin, "files", "findme/1.0/a.bin", b"a") == 201
    drain(services)
    bob = api_factory.as_user("bob")
    _team(admin, "bob")
    assert bob.get("/v1/search?q=findme").json["total"] == 0
    admin.put("/v1/repos/files/group-bindings/team", {"roles": ["read"]})
    assert bob.get("/v1/search?q=findme").json["total"] == 1
    assert [r["key"] for r in bob.get("/v1/repos").json["repos"]] == ["files"]
    admin.delete("/v1/groups/team/members/bob")
    assert bob.get("/v1/search?q=findme").json["total"] == 0
    assert bob.get("/v1/repos").json["repos"] == []


def test_a_group_reader_of_the_source_may_deduplicate_a_blob(api_factory, admin, make_repo):
    """Blob dedupe narrows candidates in SQL: group roles must count there too."""
    make_repo("src")
    make_repo("dst")
    data = payload(3000, 7)
    digest = upload(admin, "src", data)
    bob = api_factory.as_user("bob")
    admin.put("/v1/repos/dst/bindings/bob", {"roles": ["write"]})
    _team(admin, "bob")
    assert start(bob, "dst", digest, len(data)).status_code == 201  # may not read src
    admin.put("/v1/repos/src/group-bindings/team", {"roles": ["read"]})
    deduped = start(bob, "dst", digest, len(data))
    assert deduped.status_code == 200, deduped.text
    assert deduped.json["deduplicated"] is True


@pytest.mark.parametrize(
    ("own", "of_group", "can_write", "can_admin"),
    [
        (["read"], ["write"], True, False),
        (["write"], ["read"], True, False),
        (["promote"], ["read"], False, False),
        ([], ["admin"], True, True),
    ],
)
def test_effective_roles_are_the_union_of_own_and_groups(
    api_factory, admin, make_repo, own, of_group, can_write, can_admin
):
    make_repo("files")
    bob = api_factory.as_user("bob")
    _team(admin, "bob")
    admin.put("/v1/repos/files/bindings/bob", {"roles": own})
    admin.put("/v1/repos/files/group-bindings/team", {"roles": of_group})
    assert bob.get("/generic/files/").status_code in (200, 404)  # read: everyone here has it
    assert (_generic_put(bob, "files", "p/1.0/a.bin", b"x") == 201) is can_write
    assert (bob.get("/v1/repos/files/bindings").status_code == 200) is can_admin


def test_two_groups_add_up(api_factory, admin, make_repo):
    make_repo("files")
    bob = api_factory.as_user("bob")
    _team(admin, "bob", name="readers")
    _team(admin, "bob", name="promoters")
    admin.put("/v1/repos/files/group-bindings/readers", {"roles": ["read"]})
    admin.put("/v1/repos/files/group-bindings/promoters", {"roles": ["promote"]})
    assert bob.get("/v1/repos/files").status_code == 200  # promote alone does not read
    assert _generic_put(bob, "files", "p/1.0/a.bin", b"x") == 403
    admin.put("/v1/repos/files/group-bindings/readers", {"roles": []})
    assert bob.get("/v1/repos/files").status_code == 403


def test_group_changes_are_audited(api_factory, admin, make_repo, services):
    make_repo("files")
    api_factory.token_for("bob")
    _team(admin, "bob")
    admin.put("/v1/repos/files/group-bindings/team", {"roles": ["read"]})
    admin.delete("/v1/groups/team/members/bob")
    admin.delete("/v1/groups/team")
    rows = [(r.action, r.target) for r in audit_rows(services, actor="admin")][-5:]
    assert rows == [
        ("group.create", "team"),
        ("group.member.add", "team"),
        ("group_binding.set", "team"),
        ("group.member.remove", "team"),
        ("group.delete", "team"),
    ]
