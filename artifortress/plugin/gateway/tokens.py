"""Tokens, for protocols with their own log-in (such as npm)."""

from __future__ import annotations

from collections.abc import Collection

from artifortress.auth import services as auth
from artifortress.auth import users
from artifortress.auth.principal import Caller, Principal
from artifortress.auth.tokens import parse_token
from artifortress.auth.views import TokenInfo, token_info
from artifortress.errors import Unauthenticated
from artifortress.plugin.gateway.base import GatewayBase
from artifortress.plugin.gateway.transactions import writes


class TokensGateway(GatewayBase):
    """Issuing, checking and revoking the caller's tokens."""

    @writes
    def issue_token(
        self, name: str, *, read_only: bool = False, as_principal: Principal | None = None
    ) -> tuple[TokenInfo, str]:
        """A new token for the caller (or *as_principal*); audited.

        Needs a full token (neither read-only nor limited to repositories):
        otherwise :class:`PermissionDenied`.  Returns the token's view and its
        secret, which is shown only this once.
        """
        principal = as_principal or self.principal
        if principal.is_anonymous:
            raise Unauthenticated("log in first")
        db = self._ctx.db
        user = users.get_user(db, principal.tenant_id, principal.name)
        caller = Caller(principal, self._ctx.request_id, self._ctx.client_addr)
        token, secret = auth.issue_token(
            db,
            caller,
            user,
            self._ctx.services.token_policy,
            name=name,
            read_only=read_only,
        )
        return token_info(token), secret

    def issue_scoped_token(
        self, repos: Collection[str] | None, *, read_only: bool, ttl_seconds: int = 300
    ) -> str:
        """A short-lived token acting as the caller, limited to *repos* (and read-only).

        *repos* ``None``: every repository the caller's own token may touch.
        For protocols whose clients trade credentials for a token first (the
        OCI registry token flow). Signed, stored nowhere, at most an hour; it
        stops working with the token the caller authenticated with, and never
        grants more than it. The anonymous caller gets an anonymous one.
        """
        return self._ctx.services.authenticator.issue_scoped(
            self.principal, repos, read_only=read_only, ttl_seconds=ttl_seconds
        )

    def authenticate(self, user: str, secret: str) -> Principal:
        """The principal of *secret* if it is a valid token of *user* (a password check)."""
        principal = self._ctx.services.authenticator.authenticate(secret)
        if principal.name != user:
            raise Unauthenticated("the token does not belong to this user")
        return principal

    def log_in(self, user: str, secret: str) -> Principal:
        """Check *secret* as a token of *user* (see :meth:`authenticate`) and act as its principal.

        For a protocol's own log-in: what the request does next (issuing a
        token, an audit row of a refusal) is done as that user.
        """
        principal = self.authenticate(user, secret)
        self._ctx.act_as(principal)
        return principal

    def tokens(self) -> list[TokenInfo]:
        """The caller's tokens; needs a full token (else :class:`PermissionDenied`)."""
        if self.principal.user_id is None:
            raise Unauthenticated("log in first")
        return [token_info(t) for t in auth.own_tokens(self._ctx.db, self.principal)]

    @writes
    def revoke_token(self, token: str) -> None:
        """Revoke one of the caller's tokens, given its id or the token itself.

        Any token may revoke itself; another needs a full token.
        """
        parsed = parse_token(token)
        key_id = parsed[0] if parsed is not None else token
        revoked = auth.revoke_token(self._ctx.db, self._ctx.caller, key_id)
        self._ctx.services.authenticator.forget(revoked.key_id)
