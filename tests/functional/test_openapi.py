"""``/v1/openapi.json`` is valid OpenAPI 3.1 and describes exactly what the live router serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from artifortress.http.errors import install as install_error_handlers
from artifortress.http.permissions import public, requirement_of
from artifortress.testing.databases import fresh_sqlite
from artifortress.web.docs import DocsAssetResource, DocsPageResource
from artifortress.web.openapi import METHODS, OPERATIONS_PATHS, build_document
from artifortress.web.route import Route
from tests.support.routes import FIELD, served_operations


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
    """``{(path, method): responder}`` of every /v1 and operational route the router dispatches."""
    return {
        (op.path, op.method.lower()): op.responder
        for op in served_operations(app)
        if op.path.startswith("/v1/") or op.path in OPERATIONS_PATHS
    }


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


def _body_schema(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    operation = document["paths"][path][method]
    return dict(operation["requestBody"]["content"]["application/json"]["schema"])


def test_body_schemas_are_as_strict_as_the_server(document: dict[str, Any]) -> None:
    upload = _body_schema(document, "/v1/repos/{repo}/uploads", "post")["properties"]
    assert upload["digest"]["pattern"] == "^sha256:[0-9a-f]{64}$"
    hook = _body_schema(document, "/v1/repos/{repo}/webhooks", "post")["properties"]
    assert hook["url"]["pattern"].startswith("^[Hh][Tt][Tt][Pp][Ss]?://")
    assert "version.published" in hook["events"]["items"]["enum"]
    repo = _body_schema(document, "/v1/repos", "post")["properties"]
    assert {"pypi", "npm", "generic"} <= set(repo["format"]["enum"])
    label = "/v1/repos/{repo}/packages/{package}/labels/{label}"
    assert _body_schema(document, label, "put")["properties"]["version"]["minLength"] == 1


def test_path_parameters_carry_the_rules_the_code_applies(document: dict[str, Any]) -> None:
    operation = document["paths"]["/v1/repos/{repo}/blobs/{digest}"]["get"]
    schemas = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert schemas["digest"]["pattern"] == "^sha256:[0-9a-f]{64}$"
    assert schemas["repo"]["pattern"].startswith("^[a-z0-9]")
    drafts = document["paths"]["/v1/repos/{repo}/packages/versions/drafts/{draft_id}"]["get"]
    assert {p["name"]: p["schema"] for p in drafts["parameters"]}["draft_id"]["pattern"]


def test_package_names_and_versions_say_what_they_may_hold(document: dict[str, Any]) -> None:
    restore = "/v1/repos/{repo}/packages/{package}/versions/{version}/restore"
    schemas = {p["name"]: p["schema"] for p in document["paths"][restore]["post"]["parameters"]}
    assert "ended by a '-' segment" in schemas["package"]["description"]
    assert schemas["version"]["pattern"] == "^[A-Za-z0-9][A-Za-z0-9.+_!-]{0,127}$"


def test_every_operation_lists_the_statuses_it_answers(document: dict[str, Any]) -> None:
    for (path, method), operation in documented(document).items():
        statuses = set(operation["responses"])
        assert "500" not in statuses, (method, path)
        if FIELD.search(path):
            assert {"400", "404"} <= statuses, (method, path)
        if method in ("post", "put", "patch", "delete"):
            assert "409" in statuses, (method, path)
        if "requestBody" in operation:
            assert {"400", "413"} <= statuses, (method, path)
    blob = document["paths"]["/v1/repos/{repo}/blobs/{digest}"]["get"]["responses"]
    assert {"200", "206", "304", "416"} <= set(blob)
    publish = "/v1/repos/{repo}/packages/versions/drafts/{draft_id}/publish"
    assert {"200", "202"} <= set(document["paths"][publish]["post"]["responses"])
    assert {"201", "200"} <= set(document["paths"]["/v1/repos/{repo}/uploads"]["post"]["responses"])


def test_operational_routes_are_documented_with_their_bodies(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert set(OPERATIONS_PATHS) <= set(paths)
    metrics = paths["/metrics"]["get"]
    assert metrics["x-artifortress-requires"] == "public"
    assert "security" not in metrics
    assert list(metrics["responses"]["200"]["content"]) == ["text/plain"]
    ready = paths["/readyz"]["get"]["responses"]
    for status in ("200", "503"):  # the readiness report, not an error object
        schema = ready[status]["content"]["application/json"]["schema"]
        assert schema["required"] == ["status", "checks"], status
    assert list(paths["/v1/docs"]["get"]["responses"]["200"]["content"]) == ["text/html"]
    assert "404" in paths["/v1/docs/{asset}"]["get"]["responses"]


def _docs_client(folder: Path) -> falcon.testing.TestClient:
    app = falcon.App()
    install_error_handlers(app)
    app.add_route("/v1/docs", DocsPageResource(folder))
    app.add_route("/v1/docs/{asset}", DocsAssetResource(folder))
    return falcon.testing.TestClient(app)


def test_docs_without_swagger_ui_installed_say_how_to_install_it(client, tmp_path: Path) -> None:
    missing = _docs_client(tmp_path / "nowhere")
    for path in ("/v1/docs", "/v1/docs/swagger-ui.css"):
        result = missing.simulate_get(path)
        assert result.status_code == 404, path
        assert "swagger-ui-dist" in result.text, path
    served = client.simulate_get("/v1/openapi.json")  # the document itself does not need it
    assert served.status_code == 200


def test_docs_serve_only_their_own_files(tmp_path: Path) -> None:
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "secret.txt"):
        (tmp_path / name).write_text(name)
    docs = _docs_client(tmp_path)
    assert docs.simulate_get("/v1/docs/swagger-ui.css").text == "swagger-ui.css"
    for other in ("secret.txt", "..%2Fsecret.txt", "index.html"):
        assert docs.simulate_get(f"/v1/docs/{other}").status_code == 404, other
