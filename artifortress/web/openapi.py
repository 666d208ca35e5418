"""Build the OpenAPI 3 document of ``/v1/`` from the route table itself.

Paths, methods, summaries (responder docstrings), permissions and request
schemas all come from the code that serves them, with what responders declare
through :mod:`artifortress.http.openapi`, so the document cannot drift from
the API; a test checks it against the live router too.
"""

from __future__ import annotations

import http
import inspect
import re
from collections.abc import Iterable
from typing import Any

from artifortress import __version__
from artifortress.auth.users import USER_NAME
from artifortress.blobs.digests import DIGEST
from artifortress.http.body import SCHEMA_ATTR
from artifortress.http.openapi import INSTALLED_FORMATS, RESPONSES_ATTR, STATUSES_ATTR
from artifortress.http.path_ids import MAX_DIGITS
from artifortress.http.permissions import AUTHENTICATED, PUBLIC, requirement_of
from artifortress.rbac.groups import GROUP_NAME
from artifortress.rbac.permissions import Permission
from artifortress.repos.services import REPO_KEY
from artifortress.versions.labels import LABEL
from artifortress.versions.validation import VERSION
from artifortress.web.route import Route

METHODS = ("get", "head", "post", "put", "patch", "delete")
WRITES = ("post", "put", "patch", "delete")
#: Operational routes outside ``/v1/`` that the document describes too.
OPERATIONS_PATHS = ("/healthz", "/readyz", "/metrics")
#: A URL field as falcon writes it, with an optional converter: ``{repo}``, ``{n:int}``.
_PARAM = re.compile(r"{(\w+)(?::(\w+)[^}]*)?}")
_CONVERTER_TYPES = {"int": "integer", "float": "number", "uuid": "string"}
_ID = {"type": "string", "pattern": f"^[0-9]{{1,{MAX_DIGITS}}}$"}
#: Path parameters the code reads by a rule, as strict as that rule; any other is a string.
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "repo": {"type": "string", "pattern": REPO_KEY.pattern},
    "user": {"type": "string", "pattern": USER_NAME.pattern},
    "group": {"type": "string", "pattern": GROUP_NAME.pattern},
    "digest": {"type": "string", "pattern": DIGEST.pattern},
    "n": {"type": "string", "pattern": "^[0-9]+$", "description": "part number, from 1"},
    "draft_id": _ID,
    "hook_id": _ID,
    "event_id": _ID,
    "quarantine_id": _ID,
    "asset": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$"},
    "package": {
        "type": "string",
        "description": (
            "A package name as its format spells it (the format normalizes it: PEP 503 for "
            "pypi). Any text in Unicode NFC without control or invisible characters or "
            "look-alikes of '.', '/' and '\\'; it may hold '/' where its format's names do "
            "(npm @scope/name, Go module example.com/mod/v2, Maven group/artifact). Such a "
            "name is sent as it is and ended by a '-' segment: "
            "/packages/example.com/mod/v2/-/versions/v2.0.0, /packages/example.com/mod/v2/- "
            "(the last '-' segment ends the name). A name of two segments also works without "
            "it, as {package}/{subname}."
        ),
    },
    "subname": {
        "type": "string",
        "description": "the part of a two-segment package name after its '/' (@scope/name)",
    },
    "version": {
        "type": "string",
        "pattern": VERSION.pattern,
        "description": "1 to 128 letters, digits and '.+_!-', from a letter or digit: no '/'",
    },
    "label": {"type": "string", "pattern": LABEL.pattern},
}

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


def build_document(routes: Iterable[Route], formats: Iterable[str] = ()) -> dict[str, Any]:
    """The document of every ``/v1/`` and operational route; *formats*: installed format names."""
    paths: dict[str, Any] = {}
    installed = sorted(formats)
    for route in routes:
        if not route.path.startswith("/v1/") and route.path not in OPERATIONS_PATHS:
            continue
        operations = {
            method: _operation(route, method, responder, installed)
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


def _operation(route: Route, method: str, responder: Any, formats: list[str]) -> dict[str, Any]:
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
                "schema": _parameter_schema(name, converter),
            }
            for name, converter in _PARAM.findall(route.path)
        ],
        "responses": _responses(route.path, method, responder),
    }
    if description.strip():
        op["description"] = description.strip()
    if requirement != PUBLIC:
        op["security"] = [{"bearer": []}, {"basic": []}]
    schema = getattr(responder, SCHEMA_ATTR, None)
    if schema is not None:
        schema = _with_formats(schema, formats)
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    return op


_ERRORS = {
    400: "malformed or invalid parameters or body",
    401: "no or bad credentials",
    403: "permission missing, or a read-only or repository-scoped token",
    404: "no such repository or resource",
    405: "not possible in a repository of this kind (uploads to a remote, changes in a virtual)",
    409: "conflicts with the current state or with a concurrent change",
    413: "the body is larger than allowed",
    503: "a backing service is unavailable",
}


#: Requirements that a remote or virtual repository may refuse whoever asks (405).
_REFUSED_BY_KIND = frozenset({str(Permission.WRITE), str(Permission.PROMOTE)})


def _responses(path: str, method: str, responder: Any) -> dict[str, Any]:
    """Every status the operation answers: implied by its shape, plus those it declares."""
    requirement = requirement_of(responder) or "undeclared"
    declared = set(getattr(responder, STATUSES_ATTR, ()))
    successes = {code for code in declared if code < 400}
    if not successes:
        successes = {201 if method == "post" else 200}
    errors = (declared - successes) | {503}
    if requirement != PUBLIC:
        errors.add(401)
    if requirement not in (PUBLIC, AUTHENTICATED):
        errors.add(403)
    has_body = getattr(responder, SCHEMA_ATTR, None) is not None
    if has_body or _PARAM.search(path):
        errors.add(400)
    if _PARAM.search(path):
        errors.add(404)
    if method in WRITES:
        errors.add(409)
    if "{repo}" in path and requirement in _REFUSED_BY_KIND:
        errors.add(405)
    if has_body:
        errors.add(413)
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    responses: dict[str, Any] = {
        str(code): {"description": http.HTTPStatus(code).phrase} for code in sorted(successes)
    }
    for code in sorted(errors):
        description = _ERRORS.get(code) or http.HTTPStatus(code).phrase
        responses[str(code)] = {"description": description, **error}
    for code, declared_whole in getattr(responder, RESPONSES_ATTR, {}).items():
        responses[str(code)] = declared_whole
    return responses


def _with_formats(schema: Any, formats: list[str]) -> Any:
    """*schema* with an ``enum`` of *formats* wherever it is marked :data:`INSTALLED_FORMATS`."""
    if isinstance(schema, list):
        return [_with_formats(item, formats) for item in schema]
    if not isinstance(schema, dict):
        return schema
    copy = {key: _with_formats(value, formats) for key, value in schema.items()}
    if copy.pop(INSTALLED_FORMATS, False) and formats:
        copy["enum"] = formats
    return copy


def _parameter_schema(name: str, converter: str) -> dict[str, Any]:
    if converter:
        return {"type": _CONVERTER_TYPES.get(converter, "string")}
    return PATH_PARAMETERS.get(name, {"type": "string"})


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", openapi_path(path).removeprefix("/v1/").lower()).strip("_")
