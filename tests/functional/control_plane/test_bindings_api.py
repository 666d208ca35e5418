"""Users and role bindings: ``/v1/users`` and ``/v1/repos/{repo}/bindings``."""

from __future__ import annotations

import pytest

from .helpers import assert_error, audit_rows, snapshot


@pytest.fixture
def libs(admin, api_factory, make_repo):
    make_repo("libs")
    api_factory.token_for("bob")
    return "libs"


def _bindings(admin, repo="libs"):
    result = admin.get(f"/v1/repos/{repo}/bindings")
    assert result.status_code == 200, result.text
    return {b["user"]: b["roles"] for b in result.json["bindings"]}


def test_put_replaces_the_roles(admin, libs):
    put = admin.put("/v1/repos/libs/bindings/bob", {"roles": ["write", "read"]})
    assert put.status_code == 200
    assert put.json == {"user": "bob", "roles": ["read", "write"]}
    assert _bindings(admin) == {"bob": ["read", "write"]}
    assert admin.put("/v1/repos/libs/bindings/bob", {"roles": ["promote"]}).status_code == 200
    assert _bindings(admin) == {"bob": ["promote"]}


def test_empty_roles_remove_the_binding(admin, api_factory, libs):
    bob = api_factory.as_user("bob")
    admin.put("/v1/repos/libs/bindings/bob", {"roles": ["read"]})
    assert bob.get("/v1/repos/libs").status_code == 200
    removed = admin.put("/v1/repos/libs/bindings/bob", {"roles": []})
    assert removed.json == {"user": "bob", "roles": []}
    assert _bindings(admin) == {}
    assert_error(bob.get("/v1/repos/libs"), 403, "permission_denied")


def test_bindings_take_effect_on_the_next_request(admin, api_factory, libs):
    bob = api_factory.as_user("bob")
    assert_error(bob.patch("/v1/repos/libs", {"description": "x"}), 403)
    admin.put("/v1/repos/libs/bindings/bob", {"roles": ["admin"]})
    assert bob.patch("/v1/repos/libs", {"description": "x"}).status_code == 200
    admin.put("/v1/repos/libs/bindings/bob", {"roles": ["write"]})
    assert_error(bob.patch("/v1/repos/libs", {"description": "y"}), 403)


def test_get_lists_every_user_with_sorted_roles(admin, api_factory, libs):
    api_factory.token_for("alice")
    admin.put("/v1/repos/libs/bindings/bob", {"roles": ["promote", "write"]})
    admin.put("/v1/repos/libs/bindings/alice", {"roles": ["read"]})
    result = admin.get("/v1/repos/libs/bindings")
    assert result.json == {
        "bindings": [
            {"user": "alice", "roles": ["read"]},
            {"user": "bob", "roles": ["promote", "write"]},
        ],
        "group_bindings": [],
    }


def test_bindings_are_per_repository(admin, api_factory, libs, make_repo):
    make_repo("apps")
    admin.put("/v1/repos/libs/bindings/bob", {"roles": ["admin"]})
    assert _bindings(admin, "apps") == {}
    bob = api_factory.as_user("bob")
    assert_error(bob.get("/v1/repos/apps/bindings"), 403)
    assert_error(bob.put("/v1/repos/apps/bindings/bob", {"roles": ["admin"]}), 403)


BAD_BINDINGS = [
    ("/v1/repos/libs/bindings/bob", {"roles": ["owner"]}, 400, "validation_failed"),
    ("/v1/repos/libs/bindings/bob", {"roles": ["read", "superuser"]}, 400, None),
    ("/v1/repos/libs/bindings/bob", {"roles": ["READ"]}, 400, "validation_failed"),
    ("/v1/repos/libs/bindings/nobody", {"roles": ["read"]}, 404, "not_found"),
    ("/v1/repos/libs/bindings/nobody", {"roles": []}, 404, "not_found"),
    ("/v1/repos/ghost/bindings/bob", {"roles": ["read"]}, 404, "not_found"),
]


def test_bad_bindings_change_nothing(admin, libs, services):
    admin.put("/v1/repos/libs/bindings/bob", {"roles": ["write"]})
    before = snapshot(services)
    for path, body, status, code in BAD_BINDINGS:
        assert_error(admin.put(path, body), status, code)
    assert snapshot(services) == before
    assert _bindings(admin) == {"bob": ["write"]}


def test_repo_admin_manages_bindings_of_their_repository(admin, api_factory, libs):
    api_factory.token_for("carol")
    admin.put("/v1/repos/libs/bindings/bob", {"roles": ["admin"]})
    bob = api_factory.as_user("bob")
    assert bob.put("/v1/repos/libs/bindings/carol", {"roles": ["read"]}).status_code == 200
    assert _bindings(bob) == {"bob": ["admin"], "carol": ["read"]}


def test_binding_changes_are_audited_with_the_roles(admin, libs, services):
    admin.put("/v1/repos/libs/bindings/bob", {"roles": ["write", "read"]})
    admin.put("/v1/repos/libs/bindings/bob", {"roles": []})
    rows = audit_rows(services, action="binding.set")
    assert [(r.repo_key, r.target, r.details["roles"], r.outcome) for r in rows] == [
        ("libs", "bob", ["read", "write"], "success"),
        ("libs", "bob", [], "success"),
    ]


# --- users ------------------------------------------------------------------------------


def test_tenant_admin_creates_and_lists_users(admin, anonymous):
    created = admin.post("/v1/users", {"name": "dana"})
    assert created.status_code == 201
    assert created.json["name"] == "dana"
    assert created.json["admin"] is False
    boss = admin.post("/v1/users", {"name": "erin", "admin": True})
    assert boss.json["admin"] is True
    names = [u["name"] for u in admin.get("/v1/users").json["users"]]
    assert names == sorted(names)
    assert {"admin", "dana", "erin"} <= set(names)


def test_created_user_can_be_bound_and_given_a_token(admin, libs, anonymous):
    admin.post("/v1/users", {"name": "dana"})
    assert admin.put("/v1/repos/libs/bindings/dana", {"roles": ["read"]}).status_code == 200
    token = admin.post("/v1/tokens", {"name": "dana's", "user": "dana"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert anonymous.get("/v1/repos/libs", headers=headers).status_code == 200


BAD_USERS = [
    ({"name": "admin"}, 409),
    ({"name": ""}, 400),
    ({"name": "a b"}, 400),
    ({"name": "x" * 65}, 400),
    ({"name": "bob\n"}, 400),
    ({"name": "anonymous"}, 400),  # the audit log's actor for anonymous callers
    ({"name": "CLI"}, 400),  # ... and for the operator's command line
]


def test_bad_users_change_nothing(admin, services):
    assert admin.get("/v1/whoami").status_code == 200  # first use writes last_used_at
    before = snapshot(services)
    for body, status in BAD_USERS:
        assert_error(admin.post("/v1/users", body), status)
    assert snapshot(services) == before
