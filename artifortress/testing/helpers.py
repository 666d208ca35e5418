"""Small API clients for tests: a token holder talking to a ``falcon.testing`` client."""

from __future__ import annotations

import dataclasses
from typing import Any

import falcon.testing

from artifortress.auth.principal import Caller, Principal
from artifortress.auth.services import issue_token
from artifortress.auth.users import ensure_user
from artifortress.services import Services


@dataclasses.dataclass
class Api:
    """Calls the app with one user's token (or none)."""

    client: falcon.testing.TestClient
    token: str | None
    user: str | None = None

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> falcon.testing.Result:
        if body is not None:
            kwargs["json"] = body
        return self.client.simulate_request(method, path, headers=self.headers(headers), **kwargs)

    def get(self, path: str, **kwargs: Any) -> falcon.testing.Result:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> falcon.testing.Result:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> falcon.testing.Result:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> falcon.testing.Result:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> falcon.testing.Result:
        return self.request("DELETE", path, **kwargs)


@dataclasses.dataclass
class ApiFactory:
    """Mints users and tokens directly through the services (as the CLI does)."""

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
    ) -> str:
        with self.services.sessions.begin() as db:
            caller = Caller(Principal.operator(self.services.default_tenant_id()))
            account = ensure_user(db, caller.principal.tenant_id, user, is_admin=admin)
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
        return Api(self.client, self.token_for(user, **kwargs), user)

    def anonymous(self) -> Api:
        return Api(self.client, None)
