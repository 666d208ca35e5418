"""A real PostgreSQL made unreachable: explicit 503s, live /healthz, and recovery on return.

The app talks to a fresh PostgreSQL database through a TCP proxy in the test
process; cutting the proxy closes its listening socket and every open
connection, which is what a database restart or a network partition looks like
to the connection pool.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import falcon.inspect
import falcon.testing
import pytest
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from artifortress.app import create_app
from artifortress.container import Services
from artifortress.db import migrate
from artifortress.db.engine import make_engine
from artifortress.http.permissions import PUBLIC
from artifortress.settings import Settings
from artifortress.testing.databases import postgres_database
from artifortress.testing.helpers import Api, ApiFactory
from tests.support.proxy import TcpProxy
from tests.support.routes import example_path, served_operations

pytestmark = pytest.mark.postgres

#: Values for URL parameters, naming things that exist; others get a placeholder.
PARAMS = {
    "repo": "libs",
    "user": "reader",
    # Blob plane: the permission check needs the database before these are looked at.
    "upload_id": "no-such-upload",
    "n": "1",
    "digest": "sha256:" + "0" * 64,
}
#: A body that passes no schema in particular: the permission check comes first anyway.
BODY = {"name": "outage"}
#: No request may take long while the database is gone (connect_timeout, pool_timeout).
MAX_SECONDS = 3.0


@dataclass
class Outage:
    proxy: TcpProxy
    services: Services
    client: falcon.testing.TestClient
    admin: Api
    anonymous: Api
    token_id: str


@pytest.fixture
def url_query() -> dict[str, str]:
    """Extra query parameters of the app's database URL (tests override it)."""
    return {}


@pytest.fixture
def outage(tmp_path: Path, url_query: dict[str, str]) -> Iterator[Outage]:
    """The app on a fresh, migrated PostgreSQL database reached only through a proxy."""
    with postgres_database("af_outage") as direct:
        engine = make_engine(direct)
        migrate.upgrade(engine)
        engine.dispose()
        target = make_url(direct)
        with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
            url = target.set(host="127.0.0.1", port=proxy.port).update_query_dict(url_query)
            settings = Settings.load(
                environ={
                    "ARTIFORTRESS_HOME": str(tmp_path / "home"),
                    "ARTIFORTRESS_DATABASE_URL": url.render_as_string(hide_password=False),
                    # Every request authenticates against the database, no cached shortcut.
                    "ARTIFORTRESS_TOKEN_CACHE_SECONDS": "0",
                }
            )
            services = Services.build(settings)
            try:
                yield _populate(proxy, services)
            finally:
                services.close()


def _populate(proxy: TcpProxy, services: Services) -> Outage:
    client = falcon.testing.TestClient(create_app(services))
    factory = ApiFactory(client, services)
    admin = factory.as_user("admin", admin=True)
    assert admin.post("/v1/repos", {"key": "libs", "format": "generic"}).status_code == 201
    assert admin.post("/v1/users", {"name": "reader"}).status_code == 201
    token = admin.post("/v1/tokens", {"name": "spare"})
    assert token.status_code == 201, token.text
    return Outage(proxy, services, client, admin, factory.anonymous(), token.json["id"])


def protected_operations(outage: Outage) -> list[tuple[str, str]]:
    """(method, concrete path) of every non-public /v1 operation the live router serves."""
    values = {**PARAMS, "token_id": outage.token_id}
    return [
        (operation.method, example_path(operation.template, values))
        for operation in served_operations(outage.client.app, "/v1/")
        if operation.requirement != PUBLIC
    ]


def assert_unavailable(result: falcon.testing.Result, elapsed: float, request: str = "GET") -> None:
    what = f"{request}: {result.status} {result.text[:300]}"
    assert result.status_code == 503, what
    assert int(result.headers["Retry-After"]) > 0
    assert result.headers["X-Request-Id"]
    assert elapsed < MAX_SECONDS, f"took {elapsed:.1f}s: {what}"
    if request.startswith("HEAD"):
        return  # the same answer as GET, without the body
    assert result.headers["Content-Type"].startswith("application/json")
    error = result.json["error"]
    assert error["code"] == "service_unavailable", what
    assert error["request_id"] == result.headers["X-Request-Id"]
    assert "Traceback" not in result.text, what
    assert "psycopg" not in result.text, what


def timed(
    api: Api, method: str, path: str, body: object = None
) -> tuple[falcon.testing.Result, float]:
    started = time.monotonic()
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = BODY
    result = api.request(method, path, body)
    return result, time.monotonic() - started


def test_outage_gives_503_everywhere_and_recovers(outage: Outage) -> None:
    operations = protected_operations(outage)
    assert len(operations) >= 10, operations  # the route walk found the API
    assert outage.admin.get("/v1/repos").status_code == 200  # pool holds live connections

    outage.proxy.cut()

    for method, path in operations:
        result, elapsed = timed(outage.admin, method, path)
        assert_unavailable(result, elapsed, f"{method} {path}")
    # Anonymous reads of a repository need the database to tell public from private.
    result, elapsed = timed(outage.anonymous, "GET", "/v1/repos/libs")
    assert_unavailable(result, elapsed)

    assert outage.client.simulate_get("/healthz").status_code == 200
    assert outage.client.simulate_get("/metrics").status_code == 200
    assert outage.client.simulate_get("/v1/openapi.json").status_code == 200
    ready = outage.client.simulate_get("/readyz")
    assert ready.status_code == 503, ready.text
    assert ready.headers["Retry-After"]
    assert ready.json["status"] == "unavailable"
    assert ready.json["checks"]["database"] != "ok"

    outage.proxy.restore()

    # pool_pre_ping replaces the dead pooled connections: the first request already works.
    listed = outage.admin.get("/v1/repos")
    assert listed.status_code == 200, listed.text
    assert [r["key"] for r in listed.json["repos"]] == ["libs"]
    assert outage.client.simulate_get("/readyz").status_code == 200
    created = outage.admin.post("/v1/repos", {"key": "after", "format": "generic"})
    assert created.status_code == 201, created.text


def test_outage_mid_session_changes_nothing(outage: Outage) -> None:
    """A write refused during the outage is not half-applied once the database returns."""
    outage.proxy.cut()
    refused = outage.admin.post("/v1/repos", {"key": "during", "format": "generic"})
    assert refused.status_code == 503
    outage.proxy.restore()
    assert outage.admin.get("/v1/repos/during").status_code == 404
    audit = outage.admin.get("/v1/audit", params={"action": "repo.create"})
    assert audit.status_code == 200
    targets = [entry.get("target") for entry in audit.json["entries"]]
    assert "during" not in json.dumps(targets)


def test_pool_connections_killed_while_idle_are_replaced(outage: Outage) -> None:
    """The database drops every connection but stays reachable: no request fails."""
    assert outage.admin.get("/v1/repos").status_code == 200
    outage.proxy.cut()
    outage.proxy.restore()
    for _ in range(3):
        result = outage.admin.get("/v1/repos")
        assert result.status_code == 200, result.text


def test_database_lost_at_commit_answers_503_and_stores_nothing(outage: Outage) -> None:
    """The connection dies after the responder ran, while committing: 503, nothing stored."""
    cut_once = []

    def cut_before_commit(session: object) -> None:
        if not cut_once:
            cut_once.append(True)
            outage.proxy.cut()

    event.listen(outage.services.sessions, "before_commit", cut_before_commit)
    try:
        result, elapsed = timed(outage.admin, "PATCH", "/v1/repos/libs", {"description": "lost"})
    finally:
        event.remove(outage.services.sessions, "before_commit", cut_before_commit)
    assert cut_once, "the request never reached its commit"
    assert_unavailable(result, elapsed)
    outage.proxy.restore()
    repo = outage.admin.get("/v1/repos/libs")
    assert repo.status_code == 200, repo.text
    assert repo.json["description"] == ""


@pytest.mark.parametrize("url_query", [{"connect_timeout": "1"}])
def test_a_silent_database_host_gives_503_after_the_connect_timeout(outage: Outage) -> None:
    """Connections are accepted but never answered: connect_timeout ends the wait.

    The timeout comes from the URL's query (as an operator may set it), which
    must win over the built-in default of 5 seconds.
    """
    outage.proxy.stall()
    result, elapsed = timed(outage.admin, "GET", "/v1/repos")
    assert_unavailable(result, elapsed)
    assert elapsed >= 0.9, "the black hole was not hit"
    started = time.monotonic()
    ready = outage.client.simulate_get("/readyz")
    assert ready.status_code == 503
    assert time.monotonic() - started < MAX_SECONDS
    outage.proxy.restore()
    assert outage.admin.get("/v1/repos").status_code == 200


def test_a_counter_read_outside_a_session_fails_as_a_session_would(outage: Outage) -> None:
    """Cached pages read their change counter on a pooled connection (``CounterReader``).

    A database lost under it raises SQLAlchemy's connectivity error (the 503 every
    other read gives), and the dead connection leaves the pool.
    """
    counters = outage.services.counters
    assert counters is not None
    assert counters.read(1, "nothing")[0] == 0  # a connection is pooled
    outage.proxy.cut()
    with pytest.raises(sa_exc.OperationalError):
        counters.read(1, "nothing")
    outage.proxy.restore()
    assert counters.read(1, "nothing")[0] == 0  # the pool hands out a live one
