"""npm's account endpoints: log-in and ``npm token`` need a full token, like ``/v1/tokens``."""

from __future__ import annotations

import pytest

from artifortress.testing.helpers import Api

REFUSED = "neither read-only nor limited to repositories"


@pytest.fixture
def repo(make_repo):
    make_repo("js", format="npm")


def _key(token: str) -> str:
    """A token's public id: ``afpat_<id>_<secret>``."""
    return token.split("_")[1]


def _audit(admin: Api, **filters: str) -> list[dict[str, object]]:
    """Audit entries, oldest first."""
    return admin.get("/v1/audit", params=filters).json["entries"][::-1]


def _refused(result) -> None:
    assert result.status_code == 403, result.text
    assert REFUSED in result.json["error"]


def _login(anonymous: Api, password: str):
    return anonymous.put(
        "/npm/js/-/user/org.couchdb.user:alice", {"name": "alice", "password": password}
    )


@pytest.mark.parametrize("restriction", [{"read_only": True}, {"repos": ["js"]}])
def test_restricted_tokens_manage_no_tokens(api_factory, anonymous, admin, repo, restriction):
    restricted = api_factory.as_user("alice", **restriction)
    victim = api_factory.token_for("alice")
    _refused(_login(anonymous, restricted.token))
    _refused(restricted.get("/npm/js/-/npm/v1/tokens"))
    _refused(restricted.post("/npm/js/-/npm/v1/tokens", {"password": restricted.token}))
    _refused(restricted.delete(f"/npm/js/-/npm/v1/tokens/token/{_key(victim)}"))
    _refused(restricted.delete(f"/npm/js/-/user/token/{victim}"))
    denied = [(e["action"], e["actor"], e["target"]) for e in _audit(admin, outcome="denied")]
    assert denied == [
        ("token.create", "alice", "alice"),  # the log-in acts as the password's user
        ("token.list", "alice", None),
        ("token.create", "alice", None),
        ("token.revoke", "alice", _key(victim)),
        ("token.revoke", "alice", _key(victim)),  # by its id: never the secret in the URL
    ]
    assert restricted.get("/npm/js/-/whoami", headers={"Authorization": f"Bearer {victim}"}).json
    # npm logout revokes the token it was using, whatever it may do otherwise.
    assert restricted.delete(f"/npm/js/-/user/token/{restricted.token}").status_code == 200
    assert restricted.get("/npm/js/-/whoami").status_code == 401


def test_full_token_logs_in_and_manages_tokens(api_factory, anonymous, admin, repo):
    alice = api_factory.as_user("alice")
    answer = _login(anonymous, alice.token)
    assert answer.status_code == 201, answer.text
    new = Api(alice.client, answer.json["token"], "alice")
    assert new.get("/npm/js/-/whoami").json == {"username": "alice"}
    created = alice.post("/npm/js/-/npm/v1/tokens", {"password": alice.token, "readonly": True})
    assert created.status_code == 201, created.text
    assert created.json["readonly"] is True
    listed = alice.get("/npm/js/-/npm/v1/tokens").json["objects"]
    assert {t["key"] for t in listed} == {_key(alice.token), _key(new.token), created.json["key"]}
    assert alice.delete(f"/npm/js/-/npm/v1/tokens/token/{_key(new.token)}").status_code == 204
    assert new.get("/npm/js/-/whoami").status_code == 401
    created = _audit(admin, action="token.create", actor="alice")
    assert [e["outcome"] for e in created] == ["success", "success"]
