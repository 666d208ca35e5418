"""Signing in and out, and my account: my tokens and my roles."""

from __future__ import annotations

import falcon

from artifortress.auth import web_sessions
from artifortress.auth.principal import Caller
from artifortress.auth.services import issue_token, own_tokens, revoke_token
from artifortress.auth.users import get_user
from artifortress.db.base import utcnow
from artifortress.errors import Conflict, PermissionDenied, Unauthenticated, ValidationFailed
from artifortress.http.permissions import authenticated, public
from artifortress.identity.accounts import linked_providers
from artifortress.repos.services import REPO_KEY, list_readable
from artifortress.ui import queries
from artifortress.ui.view import PRESESSION_COOKIE, SESSION_COOKIE, View, view_of

MAX_TOKEN_INPUT = 512
#: Fixed messages a redirect may ask the next page to show (never text from the URL).
NOTICES = {
    "revoked": "The token was revoked: it no longer works anywhere.",
    "signed-out": "You are signed out.",
    "linked": "The sign-in provider is linked to your account: you can sign in with it now.",
}


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a page of the UI, never another site."""
    if value and value.startswith("/ui/") and "//" not in value and "\\" not in value:
        return value
    return "/ui/"


class SignInPage:
    @public
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The sign-in form: paste a personal access token."""
        view = view_of(req)
        notice = NOTICES.get(req.get_param("notice") or "")
        view.render("sign_in.html", next=safe_next(req.get_param("next")), notice=notice)

    @public
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Exchange the token for a session cookie; the form again (401) if it does not work."""
        view = view_of(req)
        ctx = req.context
        next_page = safe_next(view.field("next"))
        raw = view.field("token").strip()
        try:
            if len(raw) > MAX_TOKEN_INPUT:
                raise Unauthenticated("that is not an Artifortress token")
            principal = ctx.services.authenticator.authenticate(raw)
        except Unauthenticated as refused:
            view.render("sign_in.html", status=401, next=next_page, failure=refused.message)
            return
        caller = Caller(principal, ctx.request_id, ctx.client_addr)
        secret, expires_at = web_sessions.sign_in(ctx.db, caller)
        lifetime = int((expires_at - utcnow()).total_seconds())
        view.set_cookie(SESSION_COOKIE, secret, max_age=max(lifetime, 1))
        view.drop_cookie(PRESESSION_COOKIE)
        view.redirect(next_page)


class SignOut:
    @public
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """End the session (its token keeps working for the API)."""
        view = view_of(req)
        if view.session_secret:
            web_sessions.sign_out(req.context.db, view.session_secret)
        view.drop_cookie(SESSION_COOKIE)
        view.redirect("/ui/sign-in?notice=signed-out")


def _render_account(view: View, status: int = 200, **extra: object) -> None:
    db = view.req.context.db
    principal = view.principal
    assert principal.user_id is not None, "@authenticated lets only users in"
    restricted = None
    try:
        tokens = list(own_tokens(db, principal))
    except PermissionDenied as refused:
        tokens, restricted = [], refused.message
    repos, _ = list_readable(db, principal, cursor=None, limit=200)
    view.render(
        "account.html",
        status=status,
        tokens=tokens,
        restricted=restricted,
        roles=queries.roles_of(db, principal.user_id),
        repos=[repo.key for repo in repos],
        max_ttl=view.ui.services.token_policy.max_ttl_days,
        default_ttl=view.ui.services.token_policy.default_ttl_days,
        providers=linked_providers(db, principal.user_id, view.ui.services.settings.oidc_providers),
        notice=NOTICES.get(view.req.get_param("notice") or ""),
        **extra,
    )


class AccountPage:
    @authenticated
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """My tokens and my roles."""
        _render_account(view_of(req))


class TokensForm:
    @authenticated(action="token.create")
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a token; its secret is on the answering page, this once."""
        view = view_of(req)
        ctx = req.context
        try:
            name, ttl_days, repos = _token_fields(view)
            owner = get_user(ctx.db, view.principal.tenant_id, view.principal.name)
            token, secret = issue_token(
                ctx.db,
                ctx.caller,
                owner,
                ctx.services.token_policy,
                name=name,
                ttl_days=ttl_days,
                read_only=view.field("read_only") == "on",
                repo_scopes=repos or None,
            )
        except (ValidationFailed, Conflict) as refused:  # the form again, saying what to fix
            ctx.db.rollback()
            _render_account(view, status=refused.status, failure=refused.message)
            return
        _render_account(view, status=201, created=token, secret=secret)


def _token_fields(view: View) -> tuple[str, int | None, list[str]]:
    name = view.field("name").strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed("a token needs a name of 1 to 100 characters")
    raw_ttl = view.field("ttl_days").strip()
    if raw_ttl and not (raw_ttl.isdigit() and len(raw_ttl) <= 6):
        raise ValidationFailed("the lifetime is a number of days")
    repos = sorted(set(view.form.get("repos", [])))
    bad = [key for key in repos if not REPO_KEY.fullmatch(key)]
    if bad:
        raise ValidationFailed(f"{bad[0]!r} is not a repository key")
    return name, int(raw_ttl) if raw_ttl else None, repos


class TokenRevoke:
    @authenticated(action="token.revoke")
    def on_post(self, req: falcon.Request, resp: falcon.Response, token_id: str) -> None:
        """Revoke one of my tokens (sessions opened with it end too)."""
        view = view_of(req)
        ctx = req.context
        token = revoke_token(ctx.db, ctx.caller, token_id)
        ctx.services.authenticator.forget(token.key_id)
        view.redirect("/ui/account?notice=revoked")
