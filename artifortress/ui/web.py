"""The UI's request handling: its route table, security headers and error pages.

Every request acts as the principal of its session cookie (anonymous without
one; :mod:`artifortress.ui.view`); an ``Authorization`` header is ignored
here, so a page never acts with credentials the browser sent on its own.
Responders are declared with the same permission decorators as the API's
(:mod:`artifortress.http.permissions`) and call the same services, so the
RBAC and the audit of refusals are the API's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import falcon
from falcon.routing import CompiledRouter

from artifortress.errors import ArtifortressError, MethodNotAllowed, NotFound
from artifortress.ui.assets import Assets
from artifortress.ui.oidc import sign_in_links
from artifortress.ui.routes import ui_routes
from artifortress.ui.templating import Templates
from artifortress.ui.view import SECURITY_HEADERS, UiKit, View

if TYPE_CHECKING:
    from artifortress.container import Services


class WebUI:
    """The ``/ui/`` application: built once per process on its first request."""

    def __init__(self, services: Services) -> None:
        assets = Assets()
        links = sign_in_links(services.settings.oidc_providers)
        self.kit = UiKit(services, assets, Templates(assets), sign_in_links=links)
        self._router = CompiledRouter()
        for path, resource in ui_routes():
            self._router.add_route(path, resource)

    def handle(self, req: falcon.Request, resp: falcon.Response) -> None:
        for name, value in SECURITY_HEADERS.items():
            resp.set_header(name, value)
        view = View(self.kit, req, resp)
        req.context.ui = view
        try:
            found = self._router.find(req.path)
            if found is None:
                raise NotFound("there is no such page")
            _resource, methods, params, _template = found
            view.start()
            # HEAD is answered as GET (falcon sends no body for it): link checkers, curl -I.
            method = "GET" if req.method == "HEAD" else req.method
            responder: Callable[..., None] = methods[method]  # type: ignore[assignment]
            responder(req, resp, **params)
        except falcon.HTTPMethodNotAllowed:
            view.error(MethodNotAllowed(f"{req.method} is not allowed here"))
        except ArtifortressError as error:
            view.error(error)
