"""The part of the :class:`Gateway` every concern uses: the request, its caller and repository."""

from __future__ import annotations

import falcon

from artifortress.auth.principal import Principal
from artifortress.formats import normalize_name
from artifortress.http.context import RequestContext
from artifortress.http.permissions import authorize
from artifortress.rbac.permissions import Permission
from artifortress.rbac.services import permissions_on
from artifortress.repos.models import Repository
from artifortress.repos.services import entity_of
from artifortress.repos.views import RepoInfo, repo_info
from artifortress.versions import queries
from artifortress.versions.models import Version


class GatewayBase:
    """Who calls and where: the request, its principal and repository; shared lookups."""

    def __init__(self, req: falcon.Request) -> None:
        self._req = req
        self._ctx: RequestContext = req.context  # type: ignore[assignment]

    # -- who and where -------------------------------------------------------------

    @property
    def principal(self) -> Principal:
        """The caller (raises 401 for credentials that do not authenticate)."""
        principal: Principal = self._ctx.principal
        return principal

    @property
    def repo(self) -> RepoInfo:
        """The repository of the URL, as resolved by the responder's ``@requires``."""
        return repo_info(self._ctx.repo_ref)

    def repository(self, key: str, permission: Permission) -> RepoInfo:
        """The repository *key* if the caller holds *permission* on it (else 401/403/404)."""
        repo, _granted = authorize(self._req, key, permission)
        return repo_info(repo)

    def may(self, repo: RepoInfo, permission: Permission) -> bool:
        return permission in permissions_on(self._ctx.db, self.principal, self._repo(repo))

    def normalize(self, format: str, name: str) -> str:
        return normalize_name(self._ctx.services.plugins, format, name)

    def public_url(self, path: str) -> str:
        """An absolute URL for *path*, from ``ARTIFORTRESS_PUBLIC_URL`` or the request."""
        base = self._ctx.services.settings.public_url
        if not base:
            base = self._req.prefix
            # The client chose it (Host): a body holding it is this client's alone and
            # never becomes a file for the front proxy (that would be one per Host sent).
            self._ctx.client_chosen_url = True
        return base.rstrip("/") + "/" + path.lstrip("/")

    # -- internals -----------------------------------------------------------------

    def _repo(self, repo: RepoInfo) -> Repository:
        ref = getattr(self._ctx, "repo_ref", None)  # set by @requires on a repository URL
        if ref is not None and repo.id == ref.id:
            # Held by the request: the session's identity map holds objects only
            # weakly, so a second lookup would otherwise query again.
            return self._ctx.repo
        return entity_of(self._ctx.db, repo)

    def _require_version(self, repo: RepoInfo, name: str, version: str) -> Version:
        """Published *version* of *name*; 404 otherwise."""
        return queries.get_version(self._ctx.db, repo, name, version)
