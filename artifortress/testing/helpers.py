"""API clients for tests: a token holder talking to a ``falcon.testing`` client.

``Api`` sends requests as one user (or anonymously); ``ApiFactory`` mints the
users, their role bindings and their tokens through the services, as the
operator's CLI does.  Both are part of the plugin author's kit (see
"Testing your plugin" in docs/plugins.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import falcon.testing

from artifortress.auth.principal import Caller, Principal
from artifortress.auth.services import issue_token
from artifortress.auth.users import ensure_user
from artifortress.container import Services
from artifortress.rbac import services as rbac
from artifortress.remote.deferred import wait_for_deferred
from artifortress.remote.relay import wait_for_detached
from artifortress.repos.services import get_repo


@dataclasses.dataclass
class Api:
    """Calls the app with one user's token (or none).

    A *body* of ``bytes`` is sent as it is (give its ``Content-Type`` in
    *headers* if the route needs one); any other body is sent as JSON.
    Further keyword arguments go to ``falcon.testing.TestClient.simulate_request``
    (``params``, ``query_string``, ...).
    """

    client: falcon.testing.TestClient
    token: str | None
    user: str | None = None

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> falcon.testing.Result:
        if isinstance(body, bytes | bytearray | memoryview):
            kwargs["body"] = bytes(body)
        elif body is not None:
            kwargs["json"] = body
        _settle_remote_writes()
        result = self.client.simulate_request(method, path, headers=self.headers(headers), **kwargs)
        _settle_remote_writes()
        return result

    def get(self, path: str, **kwargs: Any) -> falcon.testing.Result:
        return self.request("GET", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> falcon.testing.Result:
        return self.request("HEAD", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> falcon.testing.Result:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> falcon.testing.Result:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> falcon.testing.Result:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> falcon.testing.Result:
        return self.request("DELETE", path, **kwargs)


def _settle_remote_writes() -> None:
    """Wait for what remotes store after answering (cold files and documents).

    A client has its answer before it is stored; a test, unlike a client,
    looks next at what was stored: it sees it as it is moments later.
    """
    wait_for_detached()
    wait_for_deferred()


@dataclasses.dataclass
class ApiFactory:
    """Mints users, role bindings and tokens directly through the services (as the CLI does)."""

    client: falcon.testing.TestClient
    services: Services

    def token_for(
        self,
        user: str,
        *,
        admin: bool = False,
        read_only: bool = False,
        repos: list[str] | None = None,
        ttl_days: int | None = None,
        roles: Mapping[str, Sequence[str]] | None = None,
    ) -> str:
        """A new token of *user*, created if missing, bound to *roles* ``{repo: [role]}``."""
        with self.services.sessions.begin() as db:
            caller = Caller(Principal.operator(self.services.default_tenant_id()))
            tenant_id = caller.principal.tenant_id
            account = ensure_user(db, tenant_id, user, is_admin=admin)
            for repo, granted in (roles or {}).items():
                rbac.set_bindings(db, caller, get_repo(db, tenant_id, repo), account, granted)
            _token, secret = issue_token(
                db,
                caller,
                account,
                self.services.token_policy,
                name=f"test token of {user}",
                ttl_days=ttl_days,
                read_only=read_only,
                repo_scopes=repos,
            )
        return secret

    def as_user(self, user: str, **kwargs: Any) -> Api:
        """An ``Api`` acting as *user* (created if missing); takes ``token_for``'s options."""
        return Api(self.client, self.token_for(user, **kwargs), user)

    def anonymous(self) -> Api:
        return Api(self.client, None)
