"""Build the OpenAPI 3 document of ``/v1/`` from the route table itself.

Paths, methods, summaries (responder docstrings), permissions and request
schemas all come from the code that serves them, so the document cannot
drift from the API; a test checks it against the live router too.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from artifortress import __version__
from artifortress.http.body import SCHEMA_ATTR
from artifortress.http.permissions import AUTHENTICATED, PUBLIC, requirement_of

if TYPE_CHECKING:
    from artifortress.http.routes import Route

METHODS = ("get", "head", "post", "put", "patch", "delete")
#: A URL field as falcon writes it, with an optional converter: ``{repo}``, ``{n:int}``.
_PARAM = re.compile(r"{(\w+)(?::(\w+)[^}]*)?}")
_CONVERTER_TYPES = {"int": "integer", "float": "number", "uuid": "string"}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "request_id": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}


def responders(resource: Any) -> Iterable[tuple[str, Any]]:
    """``(method, responder)`` for each ``on_<method>`` of a resource."""
    for method in METHODS:
        responder = getattr(resource, f"on_{method}", None)
        if responder is not None:
            yield method, responder


def build_document(routes: Iterable[Route]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in routes:
        if not route.path.startswith("/v1/"):
            continue
        operations = {
            method: _operation(route, method, responder)
            for method, responder in responders(route.resource)
        }
        paths[openapi_path(route.path)] = operations
    return {
        "openapi": "3.1.0",
        "info": {"title": "Artifortress API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
    }


def openapi_path(template: str) -> str:
    """A falcon URL template in OpenAPI's syntax (``{n:int}`` becomes ``{n}``)."""
    return _PARAM.sub(r"{\1}", template)


def _operation(route: Route, method: str, responder: Any) -> dict[str, Any]:
    doc = inspect.getdoc(responder) or ""
    summary, _, description = doc.partition("\n")
    requirement = requirement_of(responder) or "undeclared"
    op: dict[str, Any] = {
        "operationId": f"{method}_{_slug(route.path)}",
        "summary": summary.strip(),
        "tags": [route.tag],
        "x-artifortress-requires": requirement,
        "parameters": [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": _CONVERTER_TYPES.get(converter, "string")},
            }
            for name, converter in _PARAM.findall(route.path)
        ],
        "responses": _responses(method, requirement),
    }
    if description.strip():
        op["description"] = description.strip()
    if requirement != PUBLIC:
        op["security"] = [{"bearer": []}, {"basic": []}]
    schema = getattr(responder, SCHEMA_ATTR, None)
    if schema is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    return op


def _responses(method: str, requirement: str) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    ok = {"post": "201", "delete": "200"}.get(method, "200")
    responses: dict[str, Any] = {ok: {"description": "success"}}
    if requirement != PUBLIC:
        responses["401"] = {"description": "no or bad credentials", **error}
    if requirement not in (PUBLIC, AUTHENTICATED):
        responses["403"] = {"description": "permission missing", **error}
    if method in ("post", "put", "patch"):
        responses["400"] = {"description": "malformed or invalid body", **error}
    responses["503"] = {"description": "a backing service is unavailable", **error}
    return responses


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", openapi_path(path).removeprefix("/v1/").lower()).strip("_")
