"""Bad input gets a clear 4xx in the one JSON error shape, and changes nothing."""

from __future__ import annotations

import json

import falcon.testing
import pytest

from artifortress.app import create_app
from artifortress.container import Services
from artifortress.pagination import encode_cursor
from artifortress.settings import Settings
from artifortress.testing.helpers import ApiFactory

from .helpers import assert_error, audit_rows, snapshot

# (method, path, body, status, code); a bytes body is sent raw, anything else as JSON.
BAD_REQUESTS = [
    # malformed or absent JSON
    ("POST", "/v1/repos", b"{not json", 400, "bad_request"),
    ("POST", "/v1/repos", b"", 400, "bad_request"),
    ("POST", "/v1/repos", b"   ", 400, "bad_request"),
    ("POST", "/v1/repos", b"\xff\xfe{}", 400, "bad_request"),
    ("POST", "/v1/repos", b"[" * 100_000, 400, "bad_request"),
    ("POST", "/v1/repos", b'{"key": "x", "format": "generic"', 400, "bad_request"),
    # valid JSON of the wrong shape
    ("POST", "/v1/repos", b"[]", 400, "validation_failed"),
    ("POST", "/v1/repos", b'"libs"', 400, "validation_failed"),
    ("POST", "/v1/repos", b"null", 400, "validation_failed"),
    ("POST", "/v1/repos", {"format": "generic"}, 400, "validation_failed"),
    # unknown fields
    ("POST", "/v1/repos", {"key": "x", "format": "generic", "colour": "red"}, 400, None),
    ("POST", "/v1/tokens", {"name": "t", "admin": True}, 400, "validation_failed"),
    ("PATCH", "/v1/repos/libs", {"key": "renamed"}, 400, "validation_failed"),
    ("PATCH", "/v1/repos/libs", {"format": "npm"}, 400, "validation_failed"),
    ("PUT", "/v1/repos/libs/bindings/bob", {"roles": ["read"], "until": "x"}, 400, None),
    # wrong types
    ("POST", "/v1/repos", {"key": 5, "format": "generic"}, 400, "validation_failed"),
    ("POST", "/v1/repos", {"key": "x", "format": "generic", "public": "yes"}, 400, None),
    ("POST", "/v1/repos", {"key": "x", "format": "generic", "description": 1}, 400, None),
    ("POST", "/v1/tokens", {"name": "t", "ttl_days": "30"}, 400, "validation_failed"),
    ("POST", "/v1/tokens", {"name": "t", "ttl_days": 1.5}, 400, "validation_failed"),
    ("POST", "/v1/tokens", {"name": "t", "ttl_days": True}, 400, "validation_failed"),
    ("POST", "/v1/tokens", {"name": "t", "read_only": "no"}, 400, "validation_failed"),
    ("POST", "/v1/tokens", {"name": "t", "repos": "libs"}, 400, "validation_failed"),
    ("POST", "/v1/tokens", {"name": ""}, 400, "validation_failed"),
    ("POST", "/v1/tokens", {"name": "n" * 101}, 400, "validation_failed"),
    ("POST", "/v1/users", {"name": ["bob"]}, 400, "validation_failed"),
    ("POST", "/v1/users", {"name": "carol", "admin": "true"}, 400, "validation_failed"),
    ("PATCH", "/v1/repos/libs", {}, 400, "validation_failed"),
    ("PATCH", "/v1/repos/libs", {"public": 1}, 400, "validation_failed"),
    ("PATCH", "/v1/repos/libs", {"description": "d" * 2001}, 400, "validation_failed"),
    ("PUT", "/v1/repos/libs/bindings/bob", {}, 400, "validation_failed"),
    ("PUT", "/v1/repos/libs/bindings/bob", {"roles": "read"}, 400, "validation_failed"),
    ("PUT", "/v1/repos/libs/bindings/bob", {"roles": ["owner"]}, 400, "validation_failed"),
    ("PUT", "/v1/repos/libs/bindings/bob", {"roles": ["read", "read"]}, 400, None),
    # NUL characters (PostgreSQL cannot store them; they must not become 500s)
    ("POST", "/v1/tokens", {"name": "a\u0000b"}, 400, "bad_request"),
    ("POST", "/v1/repos", {"key": "x", "format": "generic", "description": "\u0000"}, 400, None),
    ("PATCH", "/v1/repos/libs", {"description": "a\u0000b"}, 400, "bad_request"),
    ("PATCH", "/v1/repos/libs", {"description": "ok", "\u0000": 1}, 400, "bad_request"),
    ("POST", "/v1/tokens", b'{"name": "a\\ud800b"}', 400, "bad_request"),  # lone surrogate
    ("PATCH", "/v1/repos/libs", b'{"description": "\\udfff"}', 400, "bad_request"),
    ("GET", "/v1/repos/li%00bs", None, 400, "bad_request"),
    ("PUT", "/v1/repos/libs/bindings/b%00b", {"roles": ["read"]}, 400, "bad_request"),
    ("DELETE", "/v1/tokens/ab%00cd", None, 400, "bad_request"),
    ("GET", "/v1/audit?actor=a%00b", None, 400, "bad_request"),
    ("GET", "/v1/repos/libs/audit?action=%00", None, 400, "bad_request"),
    # query parameters and cursors
    ("GET", "/v1/repos?limit=0", None, 400, "bad_request"),
    ("GET", "/v1/repos?limit=ten", None, 400, "bad_request"),
    ("GET", "/v1/repos?cursor=garbage!", None, 400, "bad_request"),
    ("GET", f"/v1/repos?cursor={encode_cursor(7)}", None, 400, "bad_request"),
    ("GET", f"/v1/repos?cursor={encode_cursor('a' + chr(0))}", None, 400, "bad_request"),
    ("GET", f"/v1/repos?cursor={encode_cursor('UPPER')}", None, 400, "bad_request"),
    ("GET", "/v1/audit?limit=-1", None, 400, "bad_request"),
    ("GET", f"/v1/audit?cursor={encode_cursor('x')}", None, 400, "bad_request"),
    ("GET", f"/v1/audit?cursor={encode_cursor(10**30)}", None, 400, "bad_request"),
    ("GET", f"/v1/audit?cursor={encode_cursor(-1)}", None, 400, "bad_request"),
    ("GET", "/v1/audit?since=yesterday", None, 400, "bad_request"),
    ("GET", "/v1/audit?outcome=failed", None, 400, "bad_request"),
    ("GET", "/v1/repos/libs/audit?outcome=DENIED", None, 400, "bad_request"),
    ("GET", "/v1/audit?since=0001-01-01T00:00:00%2B05:00", None, 400, "bad_request"),
    ("GET", "/v1/audit?until=9999-12-31T23:59:59-05:00", None, 400, "bad_request"),
    # domain rules behind a valid shape
    ("POST", "/v1/repos", {"key": "x", "format": "maven"}, 400, "bad_request"),
    ("POST", "/v1/tokens", {"name": "t", "ttl_days": 366}, 400, "validation_failed"),
    ("POST", "/v1/tokens", {"name": "t", "user": "nobody-here"}, 404, "not_found"),
    ("POST", "/v1/users", {"name": "-bad"}, 400, "validation_failed"),
    ("PUT", "/v1/repos/libs/bindings/nobody-here", {"roles": ["read"]}, 404, "not_found"),
    ("PUT", "/v1/repos/ghost/bindings/bob", {"roles": ["read"]}, 404, "not_found"),
    ("PATCH", "/v1/repos/ghost", {"description": "x"}, 404, "not_found"),
    ("DELETE", "/v1/repos/ghost", None, 404, "not_found"),
    ("DELETE", "/v1/tokens/aaaaaaaaaaaa", None, 404, "not_found"),
    # duplicates
    ("POST", "/v1/repos", {"key": "libs", "format": "generic"}, 409, "conflict"),
    ("POST", "/v1/repos", {"key": "libs", "format": "npm", "public": True}, 409, "conflict"),
    ("POST", "/v1/users", {"name": "bob"}, 409, "conflict"),
    # routing
    ("GET", "/v1/nope", None, 404, "not_found"),
    ("GET", "/nope", None, 404, "not_found"),
    ("POST", "/v1/repos/libs/bindings", {"roles": []}, 405, "method_not_allowed"),
    ("PUT", "/v1/repos", {"key": "x"}, 405, "method_not_allowed"),
    ("DELETE", "/v1/audit", None, 405, "method_not_allowed"),
    ("PATCH", "/v1/tokens", {"name": "x"}, 405, "method_not_allowed"),
]


@pytest.fixture
def world(admin, api_factory, make_repo):
    make_repo("libs")
    api_factory.token_for("bob")
    assert admin.put("/v1/repos/libs/bindings/bob", {"roles": ["read"]}).status_code == 200
    # The first use of a token writes last_used_at; use it now so the snapshot is stable.
    assert admin.get("/v1/whoami").status_code == 200
    return admin


def _send(api, method, path, body, **kwargs):
    if isinstance(body, bytes):
        headers = {**api.headers(), "Content-Type": "application/json"}
        return api.client.simulate_request(method, path, headers=headers, body=body, **kwargs)
    return api.request(method, path, body, **kwargs)


def test_bad_input_is_a_4xx_in_the_json_shape_and_changes_nothing(world, services):
    before = snapshot(services)
    wrong = []
    for method, path, body, status, code in BAD_REQUESTS:
        result = _send(world, method, path, body)
        if result.status_code != status:
            wrong.append(f"{method} {path} {body!r:.60}: {result.status_code} {result.text:.200}")
            continue
        assert_error(result, status, code)
        if status == 405:
            assert "allow" in result.headers
    assert wrong == []
    assert snapshot(services) == before


def test_unknown_route_and_method_answer_in_the_json_shape(world):
    """Falcon's own 404/405 come out in the JSON shape too."""
    missing = world.get("/v1/nope")
    assert_error(missing, 404)
    assert world.put("/v1/repos", {}).json["error"]["request_id"]
    assert world.put("/v1/repos", {}).headers["allow"] == "GET, POST, OPTIONS"


def test_request_id_from_a_proxy_is_reused_in_errors(world):
    result = world.post("/v1/repos", {"key": "-"}, headers={"X-Request-Id": "proxy-id-1234"})
    assert_error(result, 400, "validation_failed")
    assert result.json["error"]["request_id"] == "proxy-id-1234"


def test_error_never_echoes_a_stack_trace(world):
    result = _send(world, "POST", "/v1/repos", b"[" * 100_000)
    assert "Traceback" not in result.text
    assert "RecursionError" not in result.text


def test_overlong_values_of_a_refused_attempt_are_audited_clipped(api_factory, services, admin):
    """The denied row keeps what fits; PostgreSQL would refuse the full value (a 500)."""
    nobody = api_factory.as_user("nobody")
    key = "k" * 300
    refused = nobody.delete(f"/v1/repos/{key}")
    assert_error(refused, 403, "permission_denied")
    reader = api_factory.as_user("reader", read_only=True)
    revoke = reader.delete(f"/v1/tokens/{'t' * 300}")
    assert_error(revoke, 403, "permission_denied")
    rows = audit_rows(services, outcome="denied")
    assert [(r.action, r.actor) for r in rows] == [
        ("repo.delete", "nobody"),
        ("token.revoke", "reader"),
    ]
    assert rows[0].repo_key is not None
    assert key.startswith(rows[0].repo_key[:-1])
    assert len(rows[0].repo_key) == 64
    assert rows[1].target is not None
    assert len(rows[1].target) == 255


def test_forwarded_address_too_long_for_the_column_is_clipped(db_url, tmp_path):
    """With trust_forwarded, X-Forwarded-For is caller-controlled text of any length."""
    settings = Settings.load(
        environ={
            "ARTIFORTRESS_HOME": str(tmp_path / "home"),
            "ARTIFORTRESS_DATABASE_URL": db_url,
            "ARTIFORTRESS_TRUST_FORWARDED": "true",
        }
    )
    services = Services.build(settings)
    try:
        client = falcon.testing.TestClient(create_app(services))
        boss = ApiFactory(client, services).as_user("boss", admin=True)
        forwarded = "2001:db8::" + "1" * 200
        created = boss.post(
            "/v1/repos",
            {"key": "libs", "format": "generic"},
            headers={"X-Forwarded-For": forwarded},
        )
        assert created.status_code == 201, created.text
        (row,) = audit_rows(services, action="repo.create")
        assert row.client_addr is not None
        assert forwarded.startswith(row.client_addr[:-1])
    finally:
        services.close()


class TestBodyLimit:
    @pytest.fixture
    def settings_overrides(self):
        return {"max_json_body": "1KiB"}

    def test_body_over_the_limit_is_413_and_changes_nothing(self, world, services):
        before = snapshot(services)
        big = {"key": "big", "format": "generic", "description": "d" * 1100}
        result = world.post("/v1/repos", big)
        assert_error(result, 413, "payload_too_large")
        assert snapshot(services) == before

    def test_body_at_the_limit_is_accepted(self, world):
        body = {"key": "fits", "format": "generic", "description": ""}
        body["description"] = "d" * (1024 - len(json.dumps(body)))
        assert len(json.dumps(body)) == 1024
        assert world.post("/v1/repos", body).status_code == 201

    def test_declared_length_over_the_limit_is_refused_before_reading(self, world):
        headers = {**world.headers(), "Content-Length": "1048577"}
        result = world.client.simulate_post("/v1/repos", headers=headers, body=b"{}")
        assert_error(result, 413, "payload_too_large")
