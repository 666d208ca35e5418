"""Shared helpers of the control-plane tests: raw database views and error checks."""

from __future__ import annotations

from typing import Any

import falcon.testing
from sqlalchemy import inspect, select, text

from artifortress.audit.models import AuditEntry
from artifortress.auth import tokens
from artifortress.container import Services
from artifortress.http.errors import WWW_AUTHENTICATE


def key_id(token: str) -> str:
    """The public id of a token (what ``DELETE /v1/tokens/{id}`` takes)."""
    parsed = tokens.parse_token(token)
    assert parsed is not None, token
    return parsed[0]


def snapshot(services: Services) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read with raw SQL, for "nothing changed" checks."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    with services.engine.connect() as conn:
        # The database's own table list: it also holds tables no model maps any more.
        for name in inspect(conn).get_table_names():
            rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
            result[name] = sorted((tuple(r) for r in rows), key=repr)
    assert {"tokens", "users", "repositories", "role_bindings", "audit_log"} <= set(result)
    return result


def audit_rows(services: Services, **filters: Any) -> list[AuditEntry]:
    """Audit rows in insertion order, optionally filtered by column values."""
    with services.sessions() as db:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        for name, value in filters.items():
            stmt = stmt.where(getattr(AuditEntry, name) == value)
        return list(db.scalars(stmt).all())


def assert_error(result: falcon.testing.Result, status: int, code: str | None = None) -> None:
    """The one JSON error shape, with the request id of the response header."""
    assert result.status_code == status, result.text
    assert result.headers["content-type"].startswith("application/json"), result.headers
    error = result.json["error"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["request_id"] == result.headers["x-request-id"]
    if code is not None:
        assert error["code"] == code, error
    if status == 401:
        assert result.headers["www-authenticate"] == WWW_AUTHENTICATE
    else:
        assert "www-authenticate" not in result.headers
