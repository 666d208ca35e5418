"""Signing in through an OpenID Connect provider, and approving ``artifortress login --oidc``.

The callback opens the same server-side session as the token form: it issues the person a
personal access token (one day, named after the provider) and signs in with it, so the
session ends with that token or with the user (disabled, deleted).
"""

from __future__ import annotations

import secrets
import urllib.parse
from typing import Any

import falcon

from artifortress.audit import services as audit
from artifortress.auth import web_sessions
from artifortress.auth.models import User
from artifortress.auth.principal import Caller, Principal
from artifortress.auth.services import issue_token
from artifortress.db.base import utcnow
from artifortress.errors import NotFound
from artifortress.http.permissions import authenticated, public
from artifortress.identity import accounts, device, flow
from artifortress.identity.providers import OidcProvider, configured, find_provider
from artifortress.ui.account import safe_next
from artifortress.ui.view import PRESESSION_COOKIE, SESSION_COOKIE, View, view_of

#: The browser's half of a pending sign-in (its SHA-256 is stored with the state).
OIDC_COOKIE = "af_oidc"
UI_TOKEN_DAYS = 1
#: The longest page to come back to that a pending sign-in keeps (its column's size).
MAX_NEXT = 512


def sign_in_links(raw_providers: str) -> tuple[tuple[str, str], ...]:
    """(label, URL) of each configured provider, for the sign-in page."""
    return tuple((p.display_name, f"/ui/sign-in/oidc/{p.name}") for p in configured(raw_providers))


def _provider(view: View, name: str) -> OidcProvider:
    found = find_provider(view.ui.services.settings.oidc_providers, name)
    if found is None:
        raise NotFound(f"no sign-in provider {name!r}")
    return found


def _callback_url(view: View, provider: OidcProvider) -> str:
    return f"{view.base_url()}/ui/sign-in/oidc/{provider.name}/callback"


class OidcSignInStart:
    @public
    def on_get(self, req: falcon.Request, resp: falcon.Response, provider: str) -> None:
        """Send the browser to the provider (authorization code flow with PKCE)."""
        view = view_of(req)
        next_page = safe_next(req.get_param("next"))
        _start(view, _provider(view, provider), next_page if len(next_page) <= MAX_NEXT else "/ui/")

    @authenticated(action="oidc.link")
    def on_post(self, req: falcon.Request, resp: falcon.Response, provider: str) -> None:
        """Link the provider to my account: sign in there, and its identity becomes mine."""
        view = view_of(req)
        _start(view, _provider(view, provider), "/ui/account", link_user_id=view.principal.user_id)


def _start(
    view: View, provider: OidcProvider, next_page: str, link_user_id: int | None = None
) -> None:
    browser = secrets.token_urlsafe(32)
    try:
        url = flow.start(
            view.req.context.db,
            view.ui.services.issuer_keys,
            provider,
            redirect_uri=_callback_url(view, provider),
            browser_secret=browser,
            next_page=next_page,
            link_user_id=link_user_id,
        )
    except accounts.SignInRefused as refused:
        view.render("sign_in.html", status=503, next=next_page, failure=refused.message)
        return
    view.set_cookie(OIDC_COOKIE, browser, max_age=int(flow.PENDING_LIFETIME.total_seconds()))
    view.redirect(url)


class OidcCallback:
    @public
    def on_get(self, req: falcon.Request, resp: falcon.Response, provider: str) -> None:
        """The provider's answer: validate the ID token, find or create the user, sign in."""
        view = view_of(req)
        found = _provider(view, provider)
        view.drop_cookie(OIDC_COOKIE)
        try:
            pending, claims = _validated(view, found)
            if pending.link_user_id is not None:
                _link(view, found, pending, claims)
                return
            user = accounts.user_for_claims(req.context.db, req.context.caller, found, claims)
        except accounts.SignInRefused as refused:
            _refuse(view, found, refused)
            return
        _open_session(view, user, found, pending.next_page)


def _validated(view: View, provider: OidcProvider) -> tuple[flow.Pending, dict[str, Any]]:
    """The pending sign-in this callback ends, and the claims of its validated ID token."""
    req, services = view.req, view.ui.services
    pending = flow.take_pending(
        services.sessions,
        provider.name,
        req.get_param("state") or "",
        req.cookies.get(OIDC_COOKIE, ""),
    )
    error = req.get_param("error")
    if error is not None:
        shown = error if error.isascii() and error.isidentifier() else "an error"
        raise accounts.SignInRefused(f"{provider.display_name} did not sign you in ({shown})")
    claims = flow.id_token_claims(
        services.issuer_keys,
        provider,
        pending,
        code=req.get_param("code") or "",
        redirect_uri=_callback_url(view, provider),
    )
    return pending, claims


def _link(
    view: View, provider: OidcProvider, pending: flow.Pending, claims: dict[str, Any]
) -> None:
    """End a linking: the session must still be the user who started it."""
    if view.principal.user_id != pending.link_user_id:
        raise accounts.SignInRefused("sign in as the account to link, then link again")
    accounts.link_identity(view.req.context.db, view.req.context.caller, provider, claims)
    view.redirect("/ui/account?notice=linked")


def _refuse(view: View, provider: OidcProvider, refused: accounts.SignInRefused) -> None:
    ctx = view.req.context
    ctx.db.rollback()
    audit.record_denied(
        view.ui.services.sessions,
        ctx.caller,
        "oidc.sign_in",
        target=refused.user,
        reason=refused.message,
        provider=provider.name,
    )
    view.render("sign_in.html", status=401, next="/ui/", failure=refused.message)


def _open_session(view: View, user: User, provider: OidcProvider, next_page: str) -> None:
    """Issue the person a one-day token and open the UI session with it (as the token form)."""
    ctx, services = view.req.context, view.ui.services
    person = Principal(
        tenant_id=user.tenant_id, user_id=user.id, name=user.name, is_admin=user.is_admin
    )
    caller = Caller(person, ctx.request_id, ctx.client_addr)
    token, _secret = issue_token(
        ctx.db,
        caller,
        user,
        services.token_policy,
        name=f"ui sign-in via {provider.name}",
        ttl_days=UI_TOKEN_DAYS,
    )
    with_token = Principal(
        tenant_id=user.tenant_id,
        user_id=user.id,
        name=user.name,
        is_admin=user.is_admin,
        token_key_id=token.key_id,
    )
    secret, expires_at = web_sessions.sign_in(
        ctx.db, Caller(with_token, ctx.request_id, ctx.client_addr)
    )
    lifetime = int((expires_at - utcnow()).total_seconds())
    view.set_cookie(SESSION_COOKIE, secret, max_age=max(lifetime, 1))
    view.drop_cookie(PRESESSION_COOKIE)
    view.redirect(next_page)


class DevicePage:
    @public
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Approve a waiting ``artifortress login --oidc`` (after signing in)."""
        view = view_of(req)
        code = (req.get_param("user_code") or "")[:32]
        if view.principal.is_anonymous:
            here = "/ui/device" + (f"?user_code={urllib.parse.quote(code)}" if code else "")
            view.redirect("/ui/sign-in?next=" + urllib.parse.quote(here, safe=""))
            return
        view.render("device.html", user_code=code)

    @authenticated(action="oidc.device.approve")
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Approve or deny: the CLI's next poll gets a token of the signed-in person, or not."""
        view = view_of(req)
        approve = view.field("decision") == "approve"
        row = device.decide(
            req.context.db, req.context.caller, view.field("user_code"), approve=approve
        )
        view.render("device.html", decided=True, approved=approve, user_code=row.user_code)
