"""The authorization code flow with PKCE (RFC 7636, S256), state and nonce.

:func:`start` records a pending sign-in and gives the IdP's authorization URL; the IdP sends
the browser back to the callback, where :func:`take_pending` consumes the pending sign-in
(once: a replayed callback finds nothing) and :func:`id_token_claims` exchanges the code for
an ID token and validates it with the pending sign-in's nonce.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from artifortress.db.base import utcnow
from artifortress.identity.accounts import SignInRefused
from artifortress.identity.id_tokens import InvalidIdToken, IssuerKeys
from artifortress.identity.issuers import IssuerUnavailable
from artifortress.identity.models import PendingSignIn
from artifortress.identity.providers import OidcProvider

#: How long a person may take at the IdP before the callback is refused.
PENDING_LIFETIME = dt.timedelta(minutes=10)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def start(
    db: Session,
    keys: IssuerKeys,
    provider: OidcProvider,
    *,
    redirect_uri: str,
    browser_secret: str,
    next_page: str,
    link_user_id: int | None = None,
) -> str:
    """Record a pending sign-in; the IdP authorization URL to send the browser to."""
    try:
        endpoint = keys.metadata(provider.issuer).get("authorization_endpoint")
    except InvalidIdToken as exc:
        raise SignInRefused(
            f"{provider.display_name} cannot be reached now: {exc.reason}"
        ) from None
    if not isinstance(endpoint, str):
        raise SignInRefused(f"{provider.display_name} publishes no authorization endpoint")
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    db.execute(delete(PendingSignIn).where(PendingSignIn.expires_at <= utcnow()))
    db.add(
        PendingSignIn(
            state_sha256=_sha256(state),
            browser_sha256=_sha256(browser_secret),
            provider=provider.name,
            nonce=nonce,
            code_verifier=verifier,
            next_page=next_page,
            expires_at=utcnow() + PENDING_LIFETIME,
            link_user_id=link_user_id,
        )
    )
    query = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(provider.scopes),
        "state": state,
        "nonce": nonce,
        "code_challenge": _s256(verifier),
        "code_challenge_method": "S256",
    }
    separator = "&" if "?" in endpoint else "?"
    return endpoint + separator + urlencode(query)


@dataclass(frozen=True)
class Pending:
    provider: str
    nonce: str
    code_verifier: str
    next_page: str
    link_user_id: int | None = None


def take_pending(
    sessions: sessionmaker[Session], provider: str, state: str, browser_secret: str
) -> Pending:
    """Consume the pending sign-in of *state* in its own transaction (a callback works once)."""
    with sessions.begin() as db:
        row = db.scalars(
            select(PendingSignIn).where(PendingSignIn.state_sha256 == _sha256(state))
        ).one_or_none()
        if row is not None:
            db.delete(row)
    if row is None or row.expires_at <= utcnow():
        raise SignInRefused("this sign-in expired or was already used: start again")
    same_browser = hmac.compare_digest(row.browser_sha256, _sha256(browser_secret))
    if row.provider != provider or not same_browser:
        raise SignInRefused("this sign-in was started elsewhere: start again from this browser")
    return Pending(row.provider, row.nonce, row.code_verifier, row.next_page, row.link_user_id)


def id_token_claims(
    keys: IssuerKeys, provider: OidcProvider, pending: Pending, *, code: str, redirect_uri: str
) -> dict[str, Any]:
    """Exchange *code* at the token endpoint (with the PKCE verifier); the validated claims."""
    try:
        endpoint = keys.metadata(provider.issuer).get("token_endpoint")
        if not isinstance(endpoint, str):
            raise SignInRefused(f"{provider.display_name} publishes no token endpoint")
        status, answer = keys.fetcher.post_form(
            endpoint,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": pending.code_verifier,
            },
            (provider.client_id, provider.client_secret),
        )
    except (InvalidIdToken, IssuerUnavailable) as exc:
        reason = exc.reason if isinstance(exc, InvalidIdToken) else str(exc)
        raise SignInRefused(f"{provider.display_name} cannot be reached now: {reason}") from None
    id_token = answer.get("id_token")
    if status != 200 or not isinstance(id_token, str):
        raise SignInRefused(f"{provider.display_name} refused the sign-in: {_oauth_error(answer)}")
    try:
        return keys.validate(id_token, provider.token_rules(), nonce=pending.nonce)
    except InvalidIdToken as exc:
        raise SignInRefused(f"the ID token was refused: {exc.reason}") from None


def _oauth_error(answer: Mapping[str, Any]) -> str:
    """The OAuth error code only (RFC 6749 5.2); descriptions may echo what was sent."""
    error = answer.get("error")
    return (
        error if isinstance(error, str) and error.isascii() and len(error) < 64 else "no ID token"
    )
