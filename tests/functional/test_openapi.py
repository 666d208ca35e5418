"""``/v1/openapi.json`` is valid OpenAPI 3.1 and describes exactly what the live router serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from artifortress.http.openapi import METHODS, build_document
from artifortress.http.permissions import public, requirement_of
from artifortress.http.routes import Route
from artifortress.testing.databases import fresh_sqlite
from artifortress.testing.routes import FIELD, served_operations


@pytest.fixture
def db_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """The document does not depend on the dialect: SQLite only."""
    return fresh_sqlite(_sqlite_template, tmp_path)


@pytest.fixture
def document(client: falcon.testing.TestClient) -> dict[str, Any]:
    result = client.simulate_get("/v1/openapi.json")
    assert result.status_code == 200
    assert result.headers["Content-Type"].startswith("application/json")
    return dict(result.json)


def served(app: Any) -> dict[tuple[str, str], Any]:
    """``{(path, method): responder}`` of every /v1 operation the router really dispatches."""
    return {(op.path, op.method.lower()): op.responder for op in served_operations(app, "/v1/")}


def documented(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on the first violation


def test_the_validator_rejects_a_broken_document(document: dict[str, Any]) -> None:
    """So the test above can fail."""
    broken = {**document, "paths": {"/v1/x": {"get": {"responses": "none"}}}}
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_every_served_operation_is_documented_and_vice_versa(
    app: Any, document: dict[str, Any]
) -> None:
    live = set(served(app))
    described = set(documented(document))
    assert len(live) >= 10  # the walk really found the API
    assert live - described == set(), "served but not documented"
    assert described - live == set(), "documented but not served"


def test_every_operation_declares_its_permission(app: Any, document: dict[str, Any]) -> None:
    for (path, method), operation in documented(document).items():
        assert operation["x-artifortress-requires"] not in ("", "undeclared"), (method, path)
    for operation in served_operations(app):  # /healthz, /readyz, /metrics and plugins too
        assert operation.requirement is not None, (operation.method, operation.template)


def test_documented_permissions_match_the_responders(app: Any, document: dict[str, Any]) -> None:
    operations = documented(document)
    for key, responder in served(app).items():
        assert operations[key]["x-artifortress-requires"] == requirement_of(responder), key


def test_path_parameters_match_the_templates(document: dict[str, Any]) -> None:
    for (path, method), operation in documented(document).items():
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == {name for name, _converter in FIELD.findall(path)}, (method, path)


def test_operations_are_uniquely_named_and_summarised(document: dict[str, Any]) -> None:
    operations = documented(document).values()
    ids = [operation["operationId"] for operation in operations]
    assert len(ids) == len(set(ids))
    for operation in operations:
        assert operation["summary"], operation["operationId"]


def test_protected_operations_document_401_and_503(document: dict[str, Any]) -> None:
    for (path, method), operation in documented(document).items():
        responses = operation["responses"]
        assert "503" in responses, (method, path)
        if operation["x-artifortress-requires"] != "public":
            assert "401" in responses, (method, path)
            assert operation["security"], (method, path)


def test_request_bodies_are_documented(document: dict[str, Any]) -> None:
    create_repo = document["paths"]["/v1/repos"]["post"]
    schema = create_repo["requestBody"]["content"]["application/json"]["schema"]
    assert {"key", "format"} <= set(schema["required"])


class _Parts:
    @public
    def on_put(self, req: falcon.Request, resp: falcon.Response, repo: str, n: int) -> None:
        """Store one part."""


def test_field_converters_become_plain_openapi_parameters() -> None:
    """falcon's ``{n:int}`` is ``{n}`` (an integer) in the document, which stays valid."""
    doc = build_document([Route("/v1/repos/{repo}/parts/{n:int}", _Parts(), "uploads")])
    validate(doc)
    operation = doc["paths"]["/v1/repos/{repo}/parts/{n}"]["put"]
    types = {p["name"]: p["schema"]["type"] for p in operation["parameters"]}
    assert types == {"repo": "string", "n": "integer"}
    assert operation["operationId"] == "put_repos_repo_parts_n"
