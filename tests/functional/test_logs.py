"""Structured logs: JSON lines carrying the request id that the response header returns."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import falcon
import falcon.testing
import pytest

from artifortress import logs
from artifortress.http.permissions import public
from artifortress.testing.databases import fresh_sqlite
from artifortress.testing.helpers import Api


@pytest.fixture
def db_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """Logging does not depend on the dialect: SQLite only."""
    return fresh_sqlite(_sqlite_template, tmp_path)


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The ``artifortress`` loggers writing JSON lines into a buffer; restored afterwards."""
    root = logging.getLogger("artifortress")
    access = logging.getLogger("artifortress.access")
    saved = (root.handlers[:], root.level, root.propagate)
    saved_access = (access.handlers[:], access.propagate)
    stream = io.StringIO()
    logs.configure("json", "info", stream=stream)
    yield stream
    root.handlers[:], root.level, root.propagate = saved
    access.handlers[:], access.propagate = saved_access


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    logs.flush()  # access lines are written by a background thread
    lines = stream.getvalue().splitlines()
    assert lines, "nothing was logged"
    parsed = [json.loads(line) for line in lines]  # every line is one JSON document
    assert all(isinstance(record, dict) for record in parsed)
    return parsed


def access(stream: io.StringIO) -> list[dict[str, Any]]:
    return [r for r in records(stream) if r["logger"] == "artifortress.access"]


class _Boom:
    @public
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Fail the way a bug would."""
        raise RuntimeError("secret detail\nsecond line")


def test_each_request_logs_one_json_line_with_its_request_id(
    client: falcon.testing.TestClient, admin: Api, json_log: io.StringIO
) -> None:
    created = admin.post("/v1/repos", {"key": "libs", "format": "generic"})
    health = client.simulate_get("/healthz")
    ids = [created.headers["X-Request-Id"], health.headers["X-Request-Id"]]
    assert len(set(ids)) == 2
    lines = access(json_log)
    assert [line["request_id"] for line in lines] == ids
    first = lines[0]
    assert (first["method"], first["path"], first["status"]) == ("POST", "/v1/repos", 201)
    assert first["level"] == "info"
    assert first["time"].endswith("+00:00")
    assert isinstance(first["duration_ms"], float)


def test_a_valid_incoming_request_id_is_reused(
    client: falcon.testing.TestClient, json_log: io.StringIO
) -> None:
    answer = client.simulate_get("/healthz", headers={"X-Request-Id": "lb-0123456789abcdef"})
    assert answer.headers["X-Request-Id"] == "lb-0123456789abcdef"
    assert access(json_log)[-1]["request_id"] == "lb-0123456789abcdef"


@pytest.mark.parametrize(
    "incoming", ["short", "x" * 65, "has space in it", "semi;colon;value", "unicode-ünïcode"]
)
def test_an_invalid_incoming_request_id_is_replaced(
    client: falcon.testing.TestClient, json_log: io.StringIO, incoming: str
) -> None:
    answer = client.simulate_get("/healthz", headers={"X-Request-Id": incoming})
    replaced = answer.headers["X-Request-Id"]
    assert replaced != incoming
    assert len(replaced) == 32
    assert access(json_log)[-1]["request_id"] == replaced


def test_error_bodies_carry_the_same_request_id(
    client: falcon.testing.TestClient, json_log: io.StringIO
) -> None:
    answer = client.simulate_get("/v1/repos", headers={"X-Request-Id": "trace-0000000042"})
    assert answer.status_code == 401
    assert answer.json["error"]["request_id"] == "trace-0000000042"
    assert access(json_log)[-1]["status"] == 401


def test_an_unexpected_error_is_logged_as_one_line_and_hidden_from_the_client(
    app: Any, client: falcon.testing.TestClient, json_log: io.StringIO
) -> None:
    app.add_route("/boom", _Boom())
    answer = client.simulate_get("/boom")
    assert answer.status_code == 500
    assert "secret detail" not in answer.text
    assert "Traceback" not in answer.text
    request_id = answer.headers["X-Request-Id"]
    assert answer.json["error"]["request_id"] == request_id
    failures = [r for r in records(json_log) if r["level"] == "error"]
    assert len(failures) == 1
    assert failures[0]["request_id"] == request_id
    assert "RuntimeError: secret detail" in failures[0]["exception"]


def test_records_outside_a_request_have_no_request_id(json_log: io.StringIO) -> None:
    logging.getLogger("artifortress.test").warning("starting %s", "up", extra={"port": 8080})
    (record,) = records(json_log)
    assert record["message"] == "starting up"
    assert record["request_id"] == "-"
    assert record["port"] == 8080


def test_text_format_shows_the_request_id(client: falcon.testing.TestClient) -> None:
    root = logging.getLogger("artifortress")
    saved = (root.handlers[:], root.level, root.propagate)
    stream = io.StringIO()
    try:
        logs.configure("text", "info", stream=stream)
        answer = client.simulate_get("/healthz")
        logs.flush()
    finally:
        root.handlers[:], root.level, root.propagate = saved
    assert f"[{answer.headers['X-Request-Id']}] artifortress.access: GET /healthz 200" in (
        stream.getvalue()
    )
