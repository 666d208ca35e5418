"""Personal access tokens over HTTP: lifetime, revocation, restrictions, auth schemes."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from sqlalchemy import update

from artifortress.auth.models import Token
from artifortress.db.base import utcnow

from .helpers import assert_error, audit_rows, key_id


def _basic(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _lifetime(doc) -> dt.timedelta:
    created = dt.datetime.fromisoformat(doc["created_at"])
    return dt.datetime.fromisoformat(doc["expires_at"]) - created


def test_created_token_authenticates_and_is_never_listed_again(admin, anonymous):
    created = admin.post("/v1/tokens", {"name": "ci"})
    assert created.status_code == 201, created.text
    doc = created.json
    assert doc["token"].startswith("afpat_")
    assert doc["id"] == key_id(doc["token"])
    assert doc["user"] == "admin"
    assert doc["read_only"] is False
    assert doc["repos"] is None
    assert doc["revoked_at"] is None
    listed = admin.get("/v1/tokens")
    assert listed.status_code == 200
    assert doc["id"] in {t["id"] for t in listed.json["tokens"]}
    assert doc["token"] not in listed.text
    assert doc["token"].rsplit("_", 1)[1] not in listed.text
    whoami = anonymous.get("/v1/whoami", headers={"Authorization": f"Bearer {doc['token']}"})
    assert whoami.status_code == 200
    assert whoami.json["user"] == "admin"
    assert whoami.json["token"] == doc["id"]


def test_users_list_only_their_own_tokens(api_factory, admin):
    alice = api_factory.as_user("alice")
    admin.post("/v1/tokens", {"name": "admin's"})
    assert alice.post("/v1/tokens", {"name": "alice's"}).status_code == 201
    names = {t["name"] for t in alice.get("/v1/tokens").json["tokens"]}
    assert names == {"alice's", "test token of alice"}
    assert {t["user"] for t in alice.get("/v1/tokens").json["tokens"]} == {"alice"}


def test_default_ttl_applies_when_none_is_asked(admin):
    doc = admin.post("/v1/tokens", {"name": "default"}).json
    assert _lifetime(doc) == dt.timedelta(days=90)


def test_ttl_up_to_the_maximum_is_honoured(admin):
    assert _lifetime(admin.post("/v1/tokens", {"name": "a", "ttl_days": 1}).json).days == 1
    assert _lifetime(admin.post("/v1/tokens", {"name": "b", "ttl_days": 365}).json).days == 365


def test_ttl_outside_the_bounds_is_400_and_creates_nothing(admin, services):
    before = admin.get("/v1/tokens").json["tokens"]
    for ttl in (366, 10_000, 10**30, 0, -1):
        result = admin.post("/v1/tokens", {"name": "long", "ttl_days": ttl})
        assert_error(result, 400, "validation_failed")
    assert admin.get("/v1/tokens").json["tokens"] == before
    assert audit_rows(services, action="token.create", actor="admin") == []


class TestConfiguredLifetime:
    @pytest.fixture
    def settings_overrides(self):
        return {"token_default_ttl_days": "7", "token_max_ttl_days": "30"}

    def test_configured_default_and_maximum(self, admin):
        assert _lifetime(admin.post("/v1/tokens", {"name": "d"}).json).days == 7
        assert _lifetime(admin.post("/v1/tokens", {"name": "m", "ttl_days": 30}).json).days == 30
        too_long = admin.post("/v1/tokens", {"name": "x", "ttl_days": 31})
        assert_error(too_long, 400, "validation_failed")
        assert "30" in too_long.json["error"]["message"]


def _set_expiry(services, token: str, when: dt.datetime) -> None:
    with services.sessions.begin() as db:
        db.execute(update(Token).where(Token.key_id == key_id(token)).values(expires_at=when))


def test_expired_token_is_401(api_factory, services, anonymous):
    token = api_factory.token_for("alice")
    _set_expiry(services, token, utcnow() - dt.timedelta(seconds=1))
    result = anonymous.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert_error(result, 401, "unauthenticated")
    assert "expired" in result.json["error"]["message"]


def test_revoked_token_is_401_at_once_in_the_same_process(api_factory, anonymous):
    alice = api_factory.as_user("alice")
    victim = api_factory.token_for("alice")
    headers = {"Authorization": f"Bearer {victim}"}
    assert anonymous.get("/v1/whoami", headers=headers).status_code == 200  # cached now
    revoked = alice.delete(f"/v1/tokens/{key_id(victim)}")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json["revoked_at"] is not None
    assert_error(anonymous.get("/v1/whoami", headers=headers), 401, "unauthenticated")
    assert_error(anonymous.get("/v1/whoami", headers=_basic("__token__", victim)), 401)
    # Revoking again is harmless and audited once.
    assert alice.delete(f"/v1/tokens/{key_id(victim)}").status_code == 200


def test_users_cannot_revoke_each_others_tokens_but_tenant_admins_can(api_factory, admin):
    alice = api_factory.as_user("alice")
    bob_token = api_factory.token_for("bob")
    assert_error(alice.delete(f"/v1/tokens/{key_id(bob_token)}"), 404, "not_found")
    assert (
        alice.get("/v1/whoami", headers={"Authorization": f"Bearer {bob_token}"}).json["user"]
        == "bob"
    )
    assert admin.delete(f"/v1/tokens/{key_id(bob_token)}").status_code == 200
    assert_error(alice.get("/v1/whoami", headers={"Authorization": f"Bearer {bob_token}"}), 401)


def test_tenant_admins_issue_tokens_for_other_users_others_cannot(api_factory, admin):
    api_factory.token_for("bob")
    alice = api_factory.as_user("alice")
    issued = admin.post("/v1/tokens", {"name": "for bob", "user": "bob"})
    assert issued.status_code == 201
    assert issued.json["user"] == "bob"
    assert_error(alice.post("/v1/tokens", {"name": "x", "user": "bob"}), 403, "permission_denied")
    assert_error(admin.post("/v1/tokens", {"name": "x", "user": "nobody"}), 404, "not_found")


# --- read-only tokens ---------------------------------------------------------------------


def test_read_only_token_reads_but_cannot_write(api_factory, admin, make_repo):
    make_repo("libs")
    api_factory.token_for("bob")
    reader = api_factory.as_user("admin", admin=True, read_only=True)
    assert reader.get("/v1/repos/libs").status_code == 200
    assert reader.get("/v1/repos").status_code == 200
    assert reader.get("/v1/whoami").json["read_only"] is True
    for result in (
        reader.patch("/v1/repos/libs", {"description": "x"}),
        reader.put("/v1/repos/libs/bindings/bob", {"roles": ["read"]}),
        reader.post("/v1/repos", {"key": "more", "format": "generic"}),
        reader.delete("/v1/repos/libs"),
        reader.post("/v1/users", {"name": "carol"}),
    ):
        assert_error(result, 403, "permission_denied")
    assert admin.get("/v1/repos/libs").json["description"] == ""


def _manages_no_tokens(restricted, services, victim: str) -> None:
    """*restricted* (a read-only or scoped token of alice) cannot list, create or revoke tokens.

    Each refusal is a 403 and a denied audit row; *victim*, another token of
    alice's, keeps working; the restricted token can still revoke itself.
    """
    refusals = {
        "token.list": restricted.get("/v1/tokens"),
        "token.create": restricted.post("/v1/tokens", {"name": "x", "read_only": True}),
        "token.revoke": restricted.delete(f"/v1/tokens/{key_id(victim)}"),
    }
    for action, result in refusals.items():
        assert_error(result, 403, "permission_denied")
        assert "neither read-only nor limited to repositories" in result.json["error"]["message"]
        denied = audit_rows(services, action=action, outcome="denied")
        assert [(row.actor, row.outcome) for row in denied] == [("alice", "denied")], action
    narrowest = {"name": "narrow", "read_only": True, "repos": ["libs"], "ttl_days": 1}
    assert_error(restricted.post("/v1/tokens", narrowest), 403, "permission_denied")
    assert restricted.get("/v1/whoami", headers={"Authorization": f"Bearer {victim}"}).json
    assert restricted.delete(f"/v1/tokens/{key_id(restricted.token)}").status_code == 200
    assert_error(restricted.get("/v1/whoami"), 401)


def test_read_only_token_manages_no_tokens(api_factory, services, make_repo):
    make_repo("libs")
    reader = api_factory.as_user("alice", read_only=True)
    _manages_no_tokens(reader, services, victim=api_factory.token_for("alice"))


# --- repository-scoped tokens -------------------------------------------------------------


@pytest.fixture
def scoped(api_factory, admin, make_repo):
    """Alice writes to libs, apps and the public docs; her token is scoped to libs."""
    make_repo("libs")
    make_repo("apps")
    make_repo("docs", public=True)
    api_factory.token_for("alice")
    for key in ("libs", "apps", "docs"):
        assert admin.put(f"/v1/repos/{key}/bindings/alice", {"roles": ["write"]}).status_code == 200
    return api_factory.as_user("alice", repos=["libs"])


def test_scoped_token_reaches_only_its_repositories(scoped):
    assert scoped.get("/v1/repos/libs").status_code == 200
    assert_error(scoped.get("/v1/repos/apps"), 403, "permission_denied")
    assert_error(scoped.get("/v1/repos/docs"), 403, "permission_denied")  # even public ones
    assert [r["key"] for r in scoped.get("/v1/repos").json["repos"]] == ["libs"]
    assert scoped.get("/v1/whoami").json["repos"] == ["libs"]


def test_scoped_token_manages_no_tokens(scoped, api_factory, services):
    """Not even a narrower or shorter-lived one: a leaked CI token mints nothing."""
    _manages_no_tokens(scoped, services, victim=api_factory.token_for("alice"))


def test_scoped_token_of_a_tenant_admin_is_not_a_tenant_admin(api_factory, make_repo):
    make_repo("libs")
    boss = api_factory.as_user("admin", admin=True, repos=["libs"])
    assert boss.patch("/v1/repos/libs", {"description": "mine"}).status_code == 200
    assert_error(boss.get("/v1/audit"), 403)
    assert_error(boss.get("/v1/users"), 403)
    assert_error(boss.post("/v1/repos", {"key": "x", "format": "generic"}), 403)


# --- authentication schemes -----------------------------------------------------------------


def test_basic_auth_with_any_user_name_and_the_token_as_password(api_factory, anonymous):
    token = api_factory.token_for("alice")
    for user in ("__token__", "alice", "bob", "anything at all", ""):
        result = anonymous.get("/v1/whoami", headers=_basic(user, token))
        assert result.status_code == 200, (user, result.text)
        assert result.json["user"] == "alice"


MALFORMED_CREDENTIALS = [
    "Bearer",
    "Bearer afpat_nonsense",
    "Token afpat_x",
    "Basic %%%",
    "Basic " + base64.b64encode(b"__token__").decode(),
    "Basic " + base64.b64encode(b"__token__:").decode(),
    "Basic " + base64.b64encode(b"__token__:not-a-token").decode(),
    "Bearer afpat_aaaaaaaaaaaa_" + "a" * 52,  # well-formed, unknown
]


def test_malformed_or_unknown_credentials_are_401(anonymous, make_repo):
    make_repo("pub", public=True)
    for header in MALFORMED_CREDENTIALS:
        for path in ("/v1/whoami", "/v1/repos/pub", "/v1/repos"):
            # Bad credentials are refused even where anonymous callers would be let in.
            assert_error(anonymous.get(path, headers={"Authorization": header}), 401)


def test_right_key_id_with_a_wrong_secret_is_401(api_factory, anonymous):
    token = api_factory.token_for("alice")
    forged = token[:-1] + ("a" if token[-1] != "a" else "b")
    assert_error(anonymous.get("/v1/whoami", headers={"Authorization": f"Bearer {forged}"}), 401)
    assert anonymous.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"}).json


def test_anonymous_is_401_with_the_basic_challenge(anonymous):
    assert_error(anonymous.get("/v1/whoami"), 401, "unauthenticated")
