"""The WSGI application factory.

``create_app(services)`` wires middleware, error mapping and the route table;
``get_app()`` is what gunicorn loads (``artifortress.app:get_app()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import falcon

from artifortress.blobs.reaper import reclaim_dead_writes
from artifortress.container import Services
from artifortress.http import errors
from artifortress.http.context import Request
from artifortress.http.middleware import RequestMiddleware, SessionMiddleware
from artifortress.logs import configure as configure_logging
from artifortress.settings import Settings
from artifortress.ui.mount import mount_ui
from artifortress.versions.package_paths import PackagePathMiddleware
from artifortress.web.plugin_routes import mount, plugin_routes
from artifortress.web.routes import core_routes

if TYPE_CHECKING:
    WsgiApp = falcon.App[Request, falcon.Response]


def create_app(services: Services) -> WsgiApp:
    """A Falcon app serving the core API with the given services."""
    middleware: list[Any] = [
        RequestMiddleware(services),
        PackagePathMiddleware(),
        SessionMiddleware(),
    ]
    app: WsgiApp = falcon.App(
        request_type=Request,
        middleware=middleware,
        cors_enable=False,
    )
    app.req_options.strip_url_path_trailing_slash = False
    app.req_options.auto_parse_qs_csv = False
    errors.install(app)
    for route in core_routes(services):
        app.add_route(route.path, route.resource)
    mount(app, plugin_routes(services.plugins, services.formats), services.formats)
    mount_ui(app, services)
    return app


def get_app() -> WsgiApp:
    """Build settings and services from the environment (gunicorn's entry point)."""
    settings = Settings.load()
    configure_logging(settings.log_format, settings.log_level)
    services = Services.build(settings)
    # A worker starts when the last one died (kill -9, OOM): take what it left at once.
    reclaim_dead_writes(services.blobs)
    return create_app(services)
