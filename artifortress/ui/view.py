"""One UI request: its session, form and CSRF check, and how pages answer it.

Every request acts as the principal of its session cookie (anonymous without
one); an ``Authorization`` header is ignored here, so a page never acts with
credentials the browser sent on its own.  Responders are declared with the
same permission decorators as the API's (:mod:`artifortress.http.permissions`)
and call the same services, so the RBAC and the audit of refusals are the API's.
"""

from __future__ import annotations

import dataclasses
import secrets
import urllib.parse
from typing import TYPE_CHECKING, Any

import falcon

from artifortress.auth import web_sessions
from artifortress.auth.principal import Principal
from artifortress.db.engine import read_session
from artifortress.errors import (
    ArtifortressError,
    BadRequest,
    PayloadTooLarge,
    PermissionDenied,
    UnsupportedMediaType,
)
from artifortress.ui.assets import Assets
from artifortress.ui.templating import Templates

if TYPE_CHECKING:
    from artifortress.container import Services

SESSION_COOKIE = "af_session"
#: Before sign-in: the secret the sign-in form's CSRF token derives from.
PRESESSION_COOKIE = "af_presession"
COOKIE_PATH = "/ui"
MAX_FORM = 64 * 1024
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@dataclasses.dataclass(frozen=True)
class UiKit:
    """What every page of the process shares."""

    services: Services
    assets: Assets
    templates: Templates
    #: Other ways to sign in, as (label, URL) links under the token form: the hook for
    #: OIDC providers. Their callback authenticates the person, issues them a token
    #: (``issue_token``) and opens the session with it (``web_sessions.sign_in``), so such
    #: a session too ends with its token or its user.
    sign_in_links: tuple[tuple[str, str], ...] = ()


class View:
    """One UI request: who asks, their form, and how pages answer."""

    def __init__(self, ui: UiKit, req: falcon.Request, resp: falcon.Response) -> None:
        self.ui = ui
        self.req = req
        self.resp = resp
        self.session_secret: str | None = None
        self.form: dict[str, list[str]] = {}
        self._presession: str | None = None

    # -- the request ------------------------------------------------------------------------

    def start(self) -> None:
        """Resolve the session; for a POST, read the form and check its CSRF token."""
        principal = self._session_principal()
        self.req.context.act_as(principal)
        if self.req.method == "POST":
            self.form = self._read_form()
            if not self._csrf_ok():
                raise PermissionDenied(
                    "this form has expired or did not come from this site: reload the page "
                    "and submit it again"
                )

    def _session_principal(self) -> Principal:
        services = self.ui.services
        secret = self.req.cookies.get(SESSION_COOKIE)
        if secret:
            with read_session(services.sessions) as db:
                principal = web_sessions.resolve(db, secret)
            if principal is not None:
                self.session_secret = secret
                return principal
            self.drop_cookie(SESSION_COOKIE)  # expired, signed out, or its token revoked
        return Principal(tenant_id=services.default_tenant_id())

    def _read_form(self) -> dict[str, list[str]]:
        media = (self.req.content_type or "").split(";")[0].strip().lower()
        if media != "application/x-www-form-urlencoded":
            raise UnsupportedMediaType("pages take forms (application/x-www-form-urlencoded)")
        length = self.req.content_length or 0
        if length > MAX_FORM:
            raise PayloadTooLarge(f"a form is at most {MAX_FORM} bytes")
        raw = self.req.bounded_stream.read(MAX_FORM + 1)
        if len(raw) > MAX_FORM:
            raise PayloadTooLarge(f"a form is at most {MAX_FORM} bytes")
        try:
            text = raw.decode("utf-8")
            fields = urllib.parse.parse_qs(text, keep_blank_values=True, max_num_fields=200)
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("the form is not valid UTF-8 form data") from None
        if any("\x00" in value for values in fields.values() for value in values):
            raise BadRequest("the form contains a NUL character")
        return fields

    def _csrf_ok(self) -> bool:
        secret = self.session_secret or self.req.cookies.get(PRESESSION_COOKIE)
        return bool(secret) and web_sessions.csrf_matches(secret or "", self.field("csrf"))

    def field(self, name: str, default: str = "") -> str:
        values = self.form.get(name)
        return values[0] if values else default

    # -- who ---------------------------------------------------------------------------------

    @property
    def principal(self) -> Principal:
        principal: Principal = self.req.context.principal
        return principal

    @property
    def csrf(self) -> str:
        """The CSRF token for forms on this page (a pre-session cookie before sign-in)."""
        if self.session_secret:
            return web_sessions.csrf_token(self.session_secret)
        if self._presession is None:
            self._presession = self.req.cookies.get(PRESESSION_COOKIE) or ""
            if len(self._presession) < 32:
                self._presession = secrets.token_urlsafe(32)
                self.set_cookie(PRESESSION_COOKIE, self._presession, max_age=3600)
        return web_sessions.csrf_token(self._presession)

    # -- answers -----------------------------------------------------------------------------

    def render(self, template: str, status: int = 200, **context: Any) -> None:
        self.resp.status = status
        self.resp.content_type = falcon.MEDIA_HTML
        # Pages show what this user may see: never kept by a shared cache.
        self.resp.cache_control = ["no-store"]
        self.resp.text = self.ui.templates.render(template, view=self, **context)

    def redirect(self, location: str) -> None:
        """303 See Other: after a form post, the browser GETs *location*."""
        self.resp.status = falcon.HTTP_303
        self.resp.location = location
        self.resp.cache_control = ["no-store"]

    def error(self, error: ArtifortressError) -> None:
        for name, value in error.headers.items():
            if name.lower() != "www-authenticate":  # a browser would prompt for a password
                self.resp.set_header(name, value)
        anonymous = self.req.context.principal.is_anonymous
        self.render("error.html", status=error.status, error=error, anonymous=anonymous)

    def base_url(self) -> str:
        """This gateway's URL as clients should use it (``ARTIFORTRESS_PUBLIC_URL``, or ours)."""
        return (self.ui.services.settings.public_url or self.req.prefix).rstrip("/")

    def set_cookie(self, name: str, value: str, *, max_age: int) -> None:
        self.resp.set_cookie(
            name,
            value,
            max_age=max_age,
            path=COOKIE_PATH,
            secure=self._over_tls(),
            http_only=True,
            same_site="Lax",
        )

    def drop_cookie(self, name: str) -> None:
        self.resp.unset_cookie(name, path=COOKIE_PATH)

    def _over_tls(self) -> bool:
        """Whether the browser talks TLS: here, to the trusted front proxy, or by configuration."""
        settings = self.ui.services.settings
        forwarded = settings.trust_forwarded and self.req.forwarded_scheme == "https"
        return self.req.scheme == "https" or forwarded or settings.public_url.startswith("https:")


def view_of(req: falcon.Request) -> View:
    """The :class:`View` of a UI request (set by :class:`~artifortress.ui.web.WebUI`)."""
    view: View = req.context.ui
    return view
