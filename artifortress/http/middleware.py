"""Request pipeline: request id, client address, the database session, metrics, access log."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

import falcon

from artifortress.auth.tokens import redact_tokens
from artifortress.blobs.wsgibody import ClientInput
from artifortress.db.engine import sqlite_reads_only
from artifortress.http.errors import error_renderer_for
from artifortress.http.metrics import observe_request
from artifortress.logs import request_id_var

if TYPE_CHECKING:
    from artifortress.container import Services

log = logging.getLogger("artifortress.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
#: An OpenID provider's answer to a sign-in: its query carries the authorization code.
_OIDC_CALLBACK = re.compile(r"^/ui/sign-in/oidc/[^/]+/callback$")
REQUEST_ID_HEADER = "X-Request-Id"


class RequestMiddleware:
    """Gives each request its id, services and caller facts; logs and measures it."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._trust_forwarded = services.settings.trust_forwarded

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = req.context
        incoming = req.get_header(REQUEST_ID_HEADER)
        # Reuse a front proxy's id when it looks like one, so logs line up end to end.
        ctx.request_id = incoming if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        ctx.services = self._services
        ctx.authorization = req.get_header("Authorization")
        ctx.client_addr = client_address(req, self._trust_forwarded)
        ctx.started = time.perf_counter()
        sqlite_reads_only.set(req.method in ("GET", "HEAD"))
        ctx.error_renderer = error_renderer_for(req.path, self._services.formats)
        request_id_var.set(ctx.request_id)
        resp.set_header(REQUEST_ID_HEADER, ctx.request_id)
        # Before anything reads the body: a broken one is then a 400 for every reader.
        req.env["wsgi.input"] = req.stream = ClientInput(req.stream, _declared_length(req))
        if _is_chunked(req):
            # falcon's bounded_stream takes a body without Content-Length for an empty
            # one; a chunked body ends where its encoding says, so it needs no bound.
            req._bounded_stream = req.stream  # type: ignore[assignment]

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        ctx = req.context
        elapsed = time.perf_counter() - getattr(ctx, "started", time.perf_counter())
        route = req.uri_template or "unmatched"
        status = resp.status_code
        observe_request(req.method, route, status, elapsed)
        log.info(
            "%s %s %s %.1fms",
            req.method,
            _logged_uri(req),
            status,
            elapsed * 1000,
            extra={
                "method": req.method,
                "path": redact_tokens(req.path),
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "client": ctx.client_addr,
            },
        )
        request_id_var.set(None)
        sqlite_reads_only.set(False)


def _is_chunked(req: falcon.Request) -> bool:
    coding = req.get_header("Transfer-Encoding")
    return coding is not None and coding.lower().rstrip().endswith("chunked")


def _declared_length(req: falcon.Request) -> int | None:
    """``Content-Length``; an invalid one counts as none here, its reader answers the 400."""
    try:
        return req.content_length
    except falcon.HTTPInvalidHeader:
        return None


def client_address(req: falcon.Request, trust_forwarded: bool) -> str:
    """The caller's address for audit and logs.

    Behind the trusted front proxy, that is the last ``X-Forwarded-For`` entry,
    the one the proxy appended; entries left of it and a ``Forwarded`` header
    come from the client and could name anyone (falcon's ``access_route[0]``
    would believe them).
    """
    if trust_forwarded:
        forwarded = req.get_header("X-Forwarded-For")
        if forwarded and (last := forwarded.rsplit(",", 1)[-1].strip()):
            return last
    return req.remote_addr


def _logged_uri(req: falcon.Request) -> str:
    """The request's URI as logged: tokens redacted, an IdP's code and state left out."""
    if _OIDC_CALLBACK.match(req.path):
        return req.path
    return redact_tokens(req.relative_uri)


class SessionMiddleware:
    """Commits the request's transaction when it succeeded, rolls back otherwise.

    Commit happens before the response is sent, so a client never sees a
    success for a change that was not durably stored.  A failing commit is
    raised here and mapped to an error response like any other error.
    """

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        db = req.context.db_if_open if hasattr(req.context, "db_if_open") else None
        if db is None:
            return
        try:
            if req_succeeded and resp.status_code < 400:
                db.commit()
            else:
                db.rollback()
        finally:
            db.close()
