"""The audit log: what each privileged action writes, refusals, filters, cursors, repo scope."""

from __future__ import annotations

import datetime as dt

import pytest

from artifortress.db.base import utcnow

from .helpers import assert_error, audit_rows, key_id


def _one_row_of(services, result):
    """The single audit row written by the request behind *result*."""
    request_id = result.headers["x-request-id"]
    rows = audit_rows(services, request_id=request_id)
    assert len(rows) == 1, (result.status_code, result.text, rows)
    return rows[0]


def test_every_privileged_action_writes_a_complete_row(admin, services):
    tenant_id = services.default_tenant_id()
    steps = [
        ("user.create", None, "bob", "POST", "/v1/users", {"name": "bob"}),
        ("repo.create", "libs", None, "POST", "/v1/repos", {"key": "libs", "format": "generic"}),
        ("repo.update", "libs", None, "PATCH", "/v1/repos/libs", {"public": True}),
        ("binding.set", "libs", "bob", "PUT", "/v1/repos/libs/bindings/bob", {"roles": ["read"]}),
        ("token.create", None, "{token}", "POST", "/v1/tokens", {"name": "t", "user": "bob"}),
        ("token.revoke", None, "{token}", "DELETE", "/v1/tokens/{token}", None),
        ("repo.delete", "libs", None, "DELETE", "/v1/repos/libs", None),
    ]
    token = ""
    for n, (action, repo, target, method, path, body) in enumerate(steps, start=1):
        before = utcnow()
        result = admin.request(method, path.format(token=token), body, remote_addr=f"10.0.0.{n}")
        after = utcnow()
        assert result.status_code < 300, result.text
        if action == "token.create":
            token = result.json["id"]
        row = _one_row_of(services, result)
        assert row.tenant_id == tenant_id
        assert row.actor == "admin"
        assert row.action == action
        assert row.repo_key == repo
        assert row.target == (target.format(token=token) if target else None)
        assert row.outcome == "success"
        assert row.request_id == result.headers["x-request-id"]
        assert row.client_addr == f"10.0.0.{n}"
        assert before <= row.at <= after
    assert token


def test_the_api_shows_the_row_as_stored(admin, services):
    created = admin.post("/v1/repos", {"key": "libs", "format": "generic"}, remote_addr="10.9.9.9")
    row = _one_row_of(services, created)
    (entry,) = admin.get("/v1/audit", params={"action": "repo.create"}).json["entries"]
    assert entry == {
        "id": row.id,
        "at": row.at.isoformat(),
        "actor": "admin",
        "action": "repo.create",
        "repo": "libs",
        "target": None,
        "outcome": "success",
        "request_id": created.headers["x-request-id"],
        "client_addr": "10.9.9.9",
        "details": {"format": "generic", "public": False},
    }


def test_a_proxy_request_id_is_the_audited_one(admin, services):
    result = admin.post(
        "/v1/repos", {"key": "libs", "format": "npm"}, headers={"X-Request-Id": "edge-1234abcd"}
    )
    assert result.headers["x-request-id"] == "edge-1234abcd"
    assert _one_row_of(services, result).request_id == "edge-1234abcd"


def test_denied_attempts_are_recorded_as_denied(admin, api_factory, make_repo, services):
    make_repo("libs")
    api_factory.token_for("carol")
    bob = api_factory.as_user("bob")
    bob_read_only = api_factory.as_user("bob", read_only=True)
    attempts = [
        ("repo.create", None, bob, "POST", "/v1/repos", {"key": "x", "format": "generic"}),
        ("repo.update", "libs", bob, "PATCH", "/v1/repos/libs", {"public": True}),
        ("repo.delete", "libs", bob, "DELETE", "/v1/repos/libs", None),
        ("binding.set", "libs", bob, "PUT", "/v1/repos/libs/bindings/carol", {"roles": ["admin"]}),
        ("binding.list", "libs", bob, "GET", "/v1/repos/libs/bindings", None),
        ("user.create", None, bob, "POST", "/v1/users", {"name": "mallory", "admin": True}),
        ("user.list", None, bob, "GET", "/v1/users", None),
        ("audit.read", None, bob, "GET", "/v1/audit", None),
        ("audit.read", "libs", bob, "GET", "/v1/repos/libs/audit", None),
        ("token.create", None, bob_read_only, "POST", "/v1/tokens", {"name": "w"}),
        ("token.create", None, bob, "POST", "/v1/tokens", {"name": "c", "user": "carol"}),
        ("token.revoke", None, bob_read_only, "DELETE", f"/v1/tokens/{key_id(bob.token)}", None),
    ]
    for n, (action, repo, caller, method, path, body) in enumerate(attempts, start=1):
        result = caller.request(method, path, body, remote_addr=f"10.1.0.{n}")
        assert_error(result, 403, "permission_denied")
        row = _one_row_of(services, result)
        assert (row.action, row.repo_key, row.outcome, row.actor) == (action, repo, "denied", "bob")
        assert row.client_addr == f"10.1.0.{n}"
        assert row.details["reason"] == result.json["error"]["message"]
    assert audit_rows(services, outcome="denied", actor="bob")[-3].target is None
    assert audit_rows(services, action="binding.set", outcome="denied")[0].target == "carol"
    # Nothing was changed by any of them.
    assert admin.get("/v1/repos/libs").json["public"] is False
    assert admin.get("/v1/repos/libs/bindings").json["bindings"] == []
    assert "mallory" not in {u["name"] for u in admin.get("/v1/users").json["users"]}
    assert audit_rows(services, outcome="success", actor="bob") == []


def test_failed_requests_that_are_not_refusals_write_nothing(admin, make_repo, services):
    make_repo("libs")
    rows_before = len(audit_rows(services))
    assert admin.post("/v1/repos", {"key": "libs", "format": "generic"}).status_code == 409
    assert admin.post("/v1/repos", {"key": "x", "format": "maven"}).status_code == 400
    assert admin.put("/v1/repos/libs/bindings/ghost", {"roles": ["read"]}).status_code == 404
    assert admin.post("/v1/users", {"name": "admin"}).status_code == 409
    assert len(audit_rows(services)) == rows_before


# --- filters and pagination -------------------------------------------------------------


@pytest.fixture
def history(admin, api_factory, make_repo):
    """Two dozen rows by two actors over two repositories, some denied."""
    make_repo("libs")
    make_repo("apps")
    api_factory.token_for("bob")
    admin.put("/v1/repos/libs/bindings/bob", {"roles": ["admin"]})
    bob = api_factory.as_user("bob")
    for n in range(4):
        admin.patch("/v1/repos/apps", {"description": f"apps {n}"})
        bob.patch("/v1/repos/libs", {"description": f"libs {n}"})
        bob.patch("/v1/repos/apps", {"description": "no"})  # denied
        bob.post("/v1/tokens", {"name": f"bob {n}"})
    entries = admin.get("/v1/audit", params={"limit": "1000"}).json["entries"]
    assert len(entries) >= 20
    return entries


def _at(entry):
    return dt.datetime.fromisoformat(entry["at"])


FILTERS = [
    ({"repo": "libs"}, lambda e: e["repo"] == "libs"),
    ({"repo": "ghost"}, lambda e: False),
    ({"actor": "bob"}, lambda e: e["actor"] == "bob"),
    ({"action": "repo.update"}, lambda e: e["action"] == "repo.update"),
    ({"outcome": "denied"}, lambda e: e["outcome"] == "denied"),
    (
        {"outcome": "success", "actor": "bob"},
        lambda e: e["outcome"] == "success" and e["actor"] == "bob",
    ),
    (
        {"repo": "apps", "actor": "bob", "action": "repo.update"},
        lambda e: e["repo"] == "apps" and e["actor"] == "bob",
    ),
]


def test_filters(admin, history):
    for params, keep in FILTERS:
        result = admin.get("/v1/audit", params={**params, "limit": "1000"})
        assert result.status_code == 200, result.text
        expected = [e for e in history if keep(e)]
        assert result.json["entries"] == expected, params
        assert params.get("repo") == "ghost" or expected  # each filter selects something real


def test_time_filters(admin, history):
    pivot = history[len(history) // 2]["at"]
    since = admin.get("/v1/audit", params={"since": pivot, "limit": "1000"}).json["entries"]
    until = admin.get("/v1/audit", params={"until": pivot, "limit": "1000"}).json["entries"]
    assert since == [e for e in history if _at(e) >= dt.datetime.fromisoformat(pivot)]
    assert until == [e for e in history if _at(e) < dt.datetime.fromisoformat(pivot)]
    assert since
    assert until
    assert len(since) + len(until) == len(history)
    # "Z" and other offsets name the same instant.
    as_z = dt.datetime.fromisoformat(pivot).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert admin.get("/v1/audit", params={"since": as_z, "limit": "1000"}).json["entries"] == since
    shifted = dt.datetime.fromisoformat(pivot).astimezone(dt.timezone(dt.timedelta(hours=-5)))
    by_offset = admin.get("/v1/audit", params={"since": shifted.isoformat(), "limit": "1000"})
    assert by_offset.json["entries"] == since
    window = admin.get(
        "/v1/audit", params={"since": history[-1]["at"], "until": history[0]["at"], "limit": "1000"}
    ).json["entries"]
    assert window == [e for e in history if _at(history[-1]) <= _at(e) < _at(history[0])]


def _walk(api, path, limit, **params):
    ids, cursor = [], None
    while True:
        query = {"limit": str(limit), **params, **({"cursor": cursor} if cursor else {})}
        page = api.get(path, params=query).json
        assert len(page["entries"]) <= limit
        ids += [e["id"] for e in page["entries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def test_cursor_walks_every_row_exactly_once_newest_first(admin, history):
    for limit in (1, 5, 7, len(history), len(history) + 1):
        walked = _walk(admin, "/v1/audit", limit)
        assert walked == [e["id"] for e in history]
        assert walked == sorted(set(walked), reverse=True)
        bob_only = _walk(admin, "/v1/audit", limit, actor="bob")
        assert bob_only == [e["id"] for e in history if e["actor"] == "bob"]


def test_rows_added_during_a_walk_do_not_disturb_it(admin, history):
    first = admin.get("/v1/audit", params={"limit": "5"}).json
    admin.patch("/v1/repos/apps", {"description": "while walking"})
    rest = _walk(admin, "/v1/audit", 5, cursor=first["next_cursor"])
    assert [e["id"] for e in first["entries"]] + rest == [e["id"] for e in history]


# --- the per-repository audit ----------------------------------------------------------------


def test_repo_admins_read_the_audit_of_their_repository_only(api_factory, history, services):
    bob = api_factory.as_user("bob")
    own = bob.get("/v1/repos/libs/audit", params={"limit": "1000"})
    assert own.status_code == 200
    assert own.json["entries"] == [e for e in history if e["repo"] == "libs"]
    # A repo filter in the query cannot widen it.
    widened = bob.get("/v1/repos/libs/audit", params={"repo": "apps", "limit": "1000"})
    assert widened.json["entries"] == own.json["entries"]
    assert_error(bob.get("/v1/repos/apps/audit"), 403, "permission_denied")
    assert_error(bob.get("/v1/audit"), 403, "permission_denied")
    assert_error(bob.get("/v1/repos/ghost/audit"), 404, "not_found")
    libs_filtered = bob.get("/v1/repos/libs/audit", params={"outcome": "denied"}).json
    assert libs_filtered["entries"] == []
    assert _walk(bob, "/v1/repos/libs/audit", 2) == [e["id"] for e in own.json["entries"]]
