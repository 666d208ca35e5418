"""Per-request state: the database session and the principal, both resolved lazily.

Lazy resolution keeps ``/healthz`` and ``/metrics`` free of database work and
lets a bad token fail only on the endpoints that look at the caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import falcon
from sqlalchemy.orm import Session

from artifortress.auth.principal import Caller, Principal
from artifortress.db.engine import SessionOrOpener, sqlite_reads_only
from artifortress.http.credentials import token_from_header
from artifortress.repos.services import entity_of
from artifortress.repos.views import RepoRef

if TYPE_CHECKING:
    from artifortress.container import Services
    from artifortress.repos.models import Repository


class RequestContext:
    """``req.context`` of every request."""

    services: Services
    request_id: str
    client_addr: str | None
    #: Set by the permission hooks once the repository in the URL is resolved.
    repo_ref: RepoRef
    permissions: frozenset[Any]

    def __init__(self) -> None:
        self._db: Session | None = None
        self._repo: Repository | None = None
        self._principal: Principal | None = None
        self.authorization: str | None = None
        self.client_addr = None
        self.request_id = "-"
        #: Set when the response embeds a URL built from the request's Host header.
        self.client_chosen_url = False
        self._reads_until_write = False
        #: A package name with slashes, taken from the URL before routing
        #: (:mod:`artifortress.versions.package_paths`).
        self.package_path: str | None = None

    @property
    def db(self) -> Session:
        """The request's session, opened on first use; the middleware ends it."""
        if self._db is None:
            self._db = self.services.sessions()
        return self._db

    @property
    def db_if_open(self) -> Session | None:
        return self._db

    @property
    def db_when_needed(self) -> SessionOrOpener:
        """The open session, else a function opening it (a reader may then open none).

        A reader that finds what it needs kept, or reads it on a pooled
        connection, leaves a request that has read nothing yet without a session.
        """
        return self._db if self._db is not None else (lambda: self.db)

    def end_transaction(self) -> None:
        """Commit what the request did so far; its next statement begins a new transaction."""
        if self._db is not None:
            self._db.commit()

    def read_until_write(self) -> None:
        """End the transaction so far; those that follow only read until :meth:`begin_writing`.

        For a responder that receives a large body, checks it, then stores it
        (``@requires(..., publishes=True)``): its authorization's transaction
        would hold SQLite's write lock (or a pooled PostgreSQL connection)
        while the body streams in, and its checks would queue behind every
        concurrent writer.  On SQLite a reading transaction begins deferred.
        """
        self.end_transaction()
        sqlite_reads_only.set(True)
        self._reads_until_write = True

    def begin_writing(self) -> None:
        """Before a change: end a reading transaction, so the next one may write.

        Writing inside a deferred SQLite transaction could fail as busy
        instead of waiting for the lock; the write transaction begins here
        and lasts until the request ends (the middleware commits it).
        """
        if self._reads_until_write:
            self._reads_until_write = False
            self.end_transaction()
            sqlite_reads_only.set(False)

    @property
    def repo(self) -> Repository:
        """The URL's repository as an entity, loaded on first use by responders that need one."""
        if self._repo is None:
            self._repo = entity_of(self.db, self.repo_ref)
        return self._repo

    @property
    def principal(self) -> Principal:
        """The caller; raises 401 for credentials that do not authenticate."""
        if self._principal is None:
            token = token_from_header(self.authorization)
            if token is None:
                self._principal = Principal(tenant_id=self.services.default_tenant_id())
            else:
                self._principal = self.services.authenticator.authenticate(token)
        return self._principal

    def act_as(self, principal: Principal) -> None:
        """Act as *principal* from now on: a protocol's own log-in checked its token."""
        self._principal = principal

    @property
    def caller(self) -> Caller:
        return Caller(self.principal, self.request_id, self.client_addr)


class Request(falcon.Request):
    context_type = RequestContext
