"""Tenants: nothing a second tenant's users do or see crosses into the first tenant."""

from __future__ import annotations

import dataclasses

import pytest

from artifortress.auth.principal import Caller, Principal
from artifortress.auth.services import issue_token
from artifortress.auth.users import ensure_user
from artifortress.tenants.services import get_or_create_tenant
from artifortress.testing.helpers import Api

from .helpers import assert_error, audit_rows, key_id, snapshot


@dataclasses.dataclass
class Acme:
    tenant_id: int
    eve: Api  # acme's tenant admin
    namesake: Api  # acme's plain user called "admin", like the default tenant's admin


def _token(services, tenant_id: int, name: str, *, admin: bool) -> str:
    with services.sessions.begin() as db:
        user = ensure_user(db, tenant_id, name, is_admin=admin)
        caller = Caller(Principal.operator(tenant_id))
        _token_row, secret = issue_token(db, caller, user, services.token_policy, name=name)
    return secret


@pytest.fixture
def acme(services, client):
    with services.sessions.begin() as db:
        tenant_id = get_or_create_tenant(db, "acme").id
    assert tenant_id != services.default_tenant_id()
    return Acme(
        tenant_id,
        Api(client, _token(services, tenant_id, "eve", admin=True), "eve"),
        Api(client, _token(services, tenant_id, "admin", admin=False), "admin"),
    )


@pytest.fixture
def default_world(admin, api_factory, make_repo):
    make_repo("libs")
    make_repo("pub", public=True)
    api_factory.token_for("bob")
    assert admin.put("/v1/repos/libs/bindings/bob", {"roles": ["write"]}).status_code == 200
    return admin


def test_a_second_tenant_cannot_see_the_first_tenants_repositories(acme, default_world):
    eve = acme.eve
    assert eve.get("/v1/repos").json["repos"] == []
    for path in ("/v1/repos/libs", "/v1/repos/pub", "/v1/repos/libs/bindings"):
        assert_error(eve.get(path), 404, "not_found")
    assert_error(eve.get("/v1/repos/libs/audit"), 404, "not_found")
    assert_error(acme.namesake.get("/v1/repos/pub"), 404, "not_found")


def test_a_second_tenant_cannot_touch_the_first_tenants_repositories(acme, default_world, services):
    eve = acme.eve
    assert eve.get("/v1/whoami").status_code == 200  # first use writes last_used_at
    before = {k: v for k, v in snapshot(services).items() if k != "audit_log"}
    assert_error(eve.patch("/v1/repos/libs", {"public": True}), 404)
    assert_error(eve.delete("/v1/repos/libs"), 404)
    assert_error(eve.put("/v1/repos/libs/bindings/bob", {"roles": ["admin"]}), 404)
    assert_error(eve.put("/v1/repos/libs/bindings/eve", {"roles": ["admin"]}), 404)
    after = {k: v for k, v in snapshot(services).items() if k != "audit_log"}
    assert after == before


def test_the_same_key_in_two_tenants_is_two_repositories(acme, default_world):
    created = acme.eve.post("/v1/repos", {"key": "libs", "format": "npm", "public": True})
    assert created.status_code == 201, created.text
    assert acme.eve.get("/v1/repos/libs").json["format"] == "npm"
    assert default_world.get("/v1/repos/libs").json["format"] == "generic"
    assert [r["key"] for r in acme.eve.get("/v1/repos").json["repos"]] == ["libs"]
    assert [r["key"] for r in default_world.get("/v1/repos").json["repos"]] == ["libs", "pub"]
    # acme's public repository is not public to the default tenant's users.
    assert default_world.get("/v1/repos/libs").json["public"] is False
    assert acme.eve.delete("/v1/repos/libs").status_code == 200
    assert default_world.get("/v1/repos/libs").status_code == 200


def test_users_and_tokens_stay_in_their_tenant(acme, default_world, api_factory, services):
    eve = acme.eve
    assert {u["name"] for u in eve.get("/v1/users").json["users"]} == {"eve", "admin"}
    default_names = {u["name"] for u in default_world.get("/v1/users").json["users"]}
    assert "eve" not in default_names
    # Binding or issuing a token for another tenant's user: no such user here.
    assert eve.post("/v1/repos", {"key": "tools", "format": "generic"}).status_code == 201
    assert_error(eve.put("/v1/repos/tools/bindings/bob", {"roles": ["read"]}), 404)
    assert_error(eve.post("/v1/tokens", {"name": "x", "user": "bob"}), 404)
    # Neither tenant admin can revoke the other tenant's tokens.
    assert_error(eve.delete(f"/v1/tokens/{key_id(default_world.token)}"), 404)
    assert_error(default_world.delete(f"/v1/tokens/{key_id(eve.token)}"), 404)
    assert eve.get("/v1/whoami").status_code == 200
    assert default_world.get("/v1/whoami").status_code == 200
    assert {t["user"] for t in eve.get("/v1/tokens").json["tokens"]} == {"eve"}


def test_a_namesake_of_the_default_admin_is_no_admin(acme, default_world):
    namesake = acme.namesake
    assert namesake.get("/v1/whoami").json["admin"] is False
    assert_error(namesake.post("/v1/repos", {"key": "x", "format": "generic"}), 403)
    assert_error(namesake.get("/v1/audit"), 403)
    assert_error(namesake.get("/v1/repos/libs"), 404)


def test_audit_rows_do_not_cross_tenants(acme, default_world, services):
    eve = acme.eve
    eve.post("/v1/repos", {"key": "tools", "format": "generic"})
    eve.patch("/v1/repos/tools", {"description": "acme tools"})
    acme.namesake.post("/v1/repos", {"key": "sneaky", "format": "generic"})  # denied
    default_world.patch("/v1/repos/libs", {"description": "default libs"})
    acme_rows = audit_rows(services, tenant_id=acme.tenant_id)
    default_rows = audit_rows(services, tenant_id=services.default_tenant_id())
    assert {r.action for r in acme_rows} >= {"repo.create", "repo.update"}
    assert [(r.actor, r.outcome) for r in acme_rows if r.action == "repo.create"] == [
        ("eve", "success"),
        ("admin", "denied"),
    ]
    seen_by_eve = eve.get("/v1/audit", params={"limit": "1000"}).json["entries"]
    seen_by_default = default_world.get("/v1/audit", params={"limit": "1000"}).json["entries"]
    assert {e["id"] for e in seen_by_eve} == {r.id for r in acme_rows}
    assert {e["id"] for e in seen_by_default} == {r.id for r in default_rows}
    # Filters cannot reach across either: not by actor, not by repository.
    assert default_world.get("/v1/audit", params={"actor": "eve"}).json["entries"] == []
    assert eve.get("/v1/audit", params={"repo": "libs"}).json["entries"] == []
    assert [e["repo"] for e in eve.get("/v1/repos/tools/audit").json["entries"]] == [
        "tools",
        "tools",
    ]
