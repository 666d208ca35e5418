"""The one place where errors become HTTP responses.

Domain errors keep their status and stable code; database connectivity
failures become 503 with ``Retry-After``; anything unexpected becomes a 500
that names the request id and never leaks a stack trace.  The JSON shape is
``{"error": {"code", "message", "request_id"}}``.  A format plugin may set
``req.context.error_renderer`` to answer in its own protocol instead.
"""

from __future__ import annotations

import http
import json
import logging
from collections.abc import Mapping
from typing import Any

import falcon
from sqlalchemy import exc as sa_exc

from artifortress.auth.tokens import redact_tokens
from artifortress.errors import (
    ArtifortressError,
    BadRequest,
    Conflict,
    Gone,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RangeNotSatisfiable,
    ServiceUnavailable,
    Unauthenticated,
    UnsupportedMediaType,
)
from artifortress.formats import ErrorRenderer, FormatSpec, format_at

log = logging.getLogger("artifortress.errors")

#: pip and uv only send credentials after a 401 carrying this header.
WWW_AUTHENTICATE = 'Basic realm="artifortress"'


def error_renderer_for(path: str, formats: Mapping[str, FormatSpec]) -> ErrorRenderer | None:
    """The renderer of the format whose prefix *path* is under, if it has one."""
    first = path.split("/", 2)[1] if path.count("/") >= 1 else ""
    spec = format_at(first, formats)
    return spec.render_error if spec is not None else None


def render_json_error(req: falcon.Request, resp: falcon.Response, error: ArtifortressError) -> None:
    resp.status = error.status
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps(
        {
            "error": {
                "code": error.code,
                "message": error.message,
                "request_id": getattr(req.context, "request_id", None),
                **({"details": error.details} if error.details else {}),
            }
        }
    )


def handle_domain_error(
    req: falcon.Request, resp: falcon.Response, error: ArtifortressError, params: Any
) -> None:
    for name, value in error.headers.items():
        resp.set_header(name, value)
    if isinstance(error, Unauthenticated):
        resp.set_header("WWW-Authenticate", WWW_AUTHENTICATE)
    renderer: ErrorRenderer = getattr(req.context, "error_renderer", None) or render_json_error
    renderer(req, resp, error)


def handle_database_error(
    req: falcon.Request, resp: falcon.Response, error: sa_exc.SQLAlchemyError, params: Any
) -> None:
    if _is_connectivity_error(error):
        log.warning("database unavailable: %s", _first_line(error))
        outage = ServiceUnavailable("the database is unavailable; retry shortly")
        handle_domain_error(req, resp, outage, params)
        return
    if _is_concurrent_conflict(error):
        # Two requests passed the same "does it exist?" check; the database kept one.
        log.info("conflict with a concurrent change: %s", _first_line(error))
        conflict = Conflict("the request conflicts with a concurrent change; read and retry")
        handle_domain_error(req, resp, conflict, params)
        return
    handle_unexpected(req, resp, error, params)


#: SQLSTATEs of unique and foreign-key violations (PostgreSQL).
_CONFLICT_STATES = {"23505", "23503"}
_SQLITE_CONFLICTS = ("UNIQUE constraint failed", "FOREIGN KEY constraint failed")


def _is_concurrent_conflict(error: sa_exc.SQLAlchemyError) -> bool:
    """A unique or foreign-key violation; other integrity errors (NOT NULL, CHECK) are bugs."""
    if not isinstance(error, sa_exc.IntegrityError):
        return False
    if getattr(error.orig, "sqlstate", None) in _CONFLICT_STATES:
        return True
    return str(error.orig).startswith(_SQLITE_CONFLICTS)


def _is_connectivity_error(error: sa_exc.SQLAlchemyError) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError)


def handle_http_error(
    req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError, params: Any
) -> None:
    """Falcon's own errors (unknown route, 405, bad header) in our JSON shape and codes."""
    status = error.status_code
    phrase = _phrase(status)
    domain = ArtifortressError(error.description or _default_message(req, status, phrase))
    # The same stable codes as the domain errors: "not_found", never "404_not_found".
    domain.code = _CODES.get(status) or phrase.lower().replace(" ", "_").replace("-", "_")
    domain.status = status
    for name, value in dict(error.headers or {}).items():
        resp.set_header(name, value)
    handle_domain_error(req, resp, domain, params)


def handle_unexpected(
    req: falcon.Request, resp: falcon.Response, error: Exception, params: Any
) -> None:
    if isinstance(error, falcon.HTTPError | falcon.HTTPStatus):
        raise error
    log.exception("unhandled error in %s %s", req.method, redact_tokens(req.path))
    domain = ArtifortressError(
        "internal error; the server log has the details under this request id"
    )
    handle_domain_error(req, resp, domain, params)


_CODES = {
    cls.status: cls.code
    for cls in (
        BadRequest,
        Unauthenticated,
        PermissionDenied,
        NotFound,
        MethodNotAllowed,
        Conflict,
        Gone,
        PayloadTooLarge,
        UnsupportedMediaType,
        RangeNotSatisfiable,
        ServiceUnavailable,
    )
}


def _default_message(req: falcon.Request, status: int, phrase: str) -> str:
    if status == 404:
        return f"nothing at {req.path}"
    if status == 405:
        return f"{req.method} is not allowed on {req.path}"
    return phrase


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def install(app: falcon.App[Any, Any]) -> None:
    """Register the handlers; later registrations win for more specific types."""
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(falcon.HTTPError, handle_http_error)
    app.add_error_handler(sa_exc.SQLAlchemyError, handle_database_error)
    app.add_error_handler(ArtifortressError, handle_domain_error)
