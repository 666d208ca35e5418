"""The one HTTP error mapping: falcon's own errors and database errors in the stable JSON shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from artifortress.container import Services
from artifortress.db.engine import make_engine
from artifortress.repos.models import Repository
from artifortress.testing.databases import fresh_sqlite, truncate_all
from artifortress.testing.helpers import Api


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "message"),
    [
        ("GET", "/nope", 404, "not_found", "nothing at /nope"),
        ("GET", "/v1/nope", 404, "not_found", "nothing at /v1/nope"),
        ("POST", "/healthz", 405, "method_not_allowed", "POST is not allowed on /healthz"),
        ("DELETE", "/v1/audit", 405, "method_not_allowed", "DELETE is not allowed on /v1/audit"),
    ],
)
def test_falcon_errors_use_the_stable_codes(
    client: falcon.testing.TestClient, method: str, path: str, status: int, code: str, message: str
) -> None:
    result = client.simulate_request(method, path, headers={"X-Request-Id": "req-000000001"})
    assert result.status_code == status
    assert result.json == {
        "error": {"code": code, "message": message, "request_id": "req-000000001"}
    }


@pytest.fixture
def db_url(request: pytest.FixtureRequest, _sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    """PostgreSQL for the race below (SQLite serialises writers, so it cannot race)."""
    if request.node.get_closest_marker("postgres") is None:
        yield fresh_sqlite(_sqlite_template, tmp_path)
        return
    url: str = request.getfixturevalue("_postgres_url")
    engine = make_engine(url)
    truncate_all(engine)
    engine.dispose()
    yield url


@pytest.mark.postgres
def test_a_duplicate_created_concurrently_is_a_409_not_a_500(
    admin: Api, services: Services
) -> None:
    """Both requests pass the "does it exist?" check; the unique index decides at flush."""
    raced: list[str] = []

    def create_the_same_repo_elsewhere(session: Session, *_: Any) -> None:
        mine = [obj for obj in session.new if isinstance(obj, Repository)]
        if not mine or raced:
            return
        raced.append(mine[0].key)
        with services.sessions.begin() as other:
            other.add(Repository(tenant_id=mine[0].tenant_id, key=mine[0].key, format="npm"))

    event.listen(services.sessions, "before_flush", create_the_same_repo_elsewhere)
    try:
        result = admin.post("/v1/repos", {"key": "libs", "format": "generic"})
    finally:
        event.remove(services.sessions, "before_flush", create_the_same_repo_elsewhere)
    assert raced == ["libs"]
    assert result.status_code == 409, result.text
    assert result.json["error"]["code"] == "conflict"
    assert admin.get("/v1/repos/libs").json["format"] == "npm"  # the other one won
