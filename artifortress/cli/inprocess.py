"""Requests to the application inside the command's own process, as the operator.

A command that must go through the HTTP API (``remote prefetch``: what a
client asks must be fetched as a client's request would fetch it) calls the
WSGI application as gunicorn would, with no server and no network between.
It authenticates with a read-only token of the CLI's own tenant admin
(:data:`CLI_USER`), issued for the run and revoked when it ends; both are
audited as the operator's doing. A body is read chunk by chunk and dropped,
unless the caller keeps it (bounded), so memory stays small for any file.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import falcon.testing

from artifortress.cli.common import as_operator
from artifortress.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from artifortress.app import WsgiApp
    from artifortress.auth.principal import Caller
    from artifortress.container import Services

#: The user whose short-lived tokens in-process commands use (a tenant admin).
CLI_USER = "artifortress-cli"


@dataclasses.dataclass(frozen=True)
class Answer:
    """What the application answered: status, and the body if it was kept."""

    status: int
    body: bytes | None
    #: Why it failed, from the error body (``None`` for a success).
    problem: str | None


class InProcessClient:
    """GETs against the application, authenticated with the run's token."""

    def __init__(self, app: WsgiApp, token: str) -> None:
        self._app = app
        self._token = token

    def get(self, path: str, *, accept: str | None = None, keep: int = 0) -> Answer:
        """GET *path* (percent-encoded, with its query); keep at most *keep* bytes of the body.

        A body longer than *keep* is a problem when *keep* is not 0.
        """
        target, _, query = path.partition("?")
        headers = {"Authorization": f"Bearer {self._token}", "Accept": accept or "*/*"}
        environ = falcon.testing.create_environ(path=target, query_string=query, headers=headers)
        started: list[str] = []

        def start_response(
            status: str, _headers: list[tuple[str, str]], _exc_info: Any = None, /
        ) -> Callable[[bytes], object]:
            started.append(status)
            return _no_write

        chunks = self._app(environ, start_response)
        try:
            kept, overflow = _read(chunks, keep)
        finally:
            close: Callable[[], None] | None = getattr(chunks, "close", None)
            if close is not None:
                close()
        status = int(started[0].split(" ", 1)[0])
        if status >= 400:
            return Answer(status, None, f"{started[0]}: {_message(kept)}")
        if overflow:
            return Answer(status, None, f"the answer is larger than {keep} bytes")
        return Answer(status, kept if keep else None, None)


def _no_write(_data: bytes) -> object:
    """WSGI's legacy ``write()``: falcon never calls it."""
    raise NotImplementedError


def _read(chunks: Iterable[bytes], keep: int) -> tuple[bytes, bool]:
    """The first *keep* bytes (4 KiB of an error), and whether there were more."""
    kept = bytearray()
    limit = max(keep, 4096)
    overflow = False
    for chunk in chunks:
        room = limit - len(kept)
        kept += chunk[:room]
        overflow = overflow or len(chunk) > room
    return bytes(kept), overflow and keep > 0


def _message(body: bytes) -> str:
    """The error's message, from the core's JSON error, a format's JSON or plain text."""
    try:
        doc = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:300] or "no reason given"
    error = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(error, dict):
        return str(error.get("message", error))
    return str(error or doc)[:300]


@contextmanager
def operator_client(
    settings: Settings, services: Services, purpose: str
) -> Iterator[InProcessClient]:
    """A client of a fresh application over *services*; its token lives as long as the block."""
    from artifortress.app import create_app

    key_id, secret = as_operator(settings, lambda db, caller: _issue(settings, db, caller, purpose))
    try:
        yield InProcessClient(create_app(services), secret)
    finally:
        as_operator(settings, lambda db, caller: _revoke(db, caller, key_id))


def _issue(settings: Settings, db: Session, caller: Caller, purpose: str) -> tuple[str, str]:
    from artifortress.auth.services import TokenPolicy, issue_token
    from artifortress.auth.users import ensure_user

    user = ensure_user(db, caller.principal.tenant_id, CLI_USER, is_admin=True)
    policy = TokenPolicy(settings.token_default_ttl_days, settings.token_max_ttl_days)
    token, secret = issue_token(
        db,
        caller,
        user,
        policy,
        name=f"{purpose} (revoked when it ends)",
        ttl_days=1,
        read_only=True,
    )
    return token.key_id, secret


def _revoke(db: Session, caller: Caller, key_id: str) -> None:
    from artifortress.auth.services import revoke_token

    revoke_token(db, caller, key_id)
