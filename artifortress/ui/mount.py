"""Mounting the web UI: ``/ui/...`` and a browser's ``/``, nothing else.

Both are falcon sinks, consulted only when no route matches, so they can never
shadow an API or client-protocol URL.  ``/`` answers a browser (``Accept``
naming ``text/html``) with a redirect to ``/ui/``; any other client gets the
answer it always got (no route: the same 404, byte for byte).  The UI itself
(:mod:`artifortress.ui.web`) is imported on the first ``/ui/`` request.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

import falcon

if TYPE_CHECKING:
    from artifortress.container import Services

UI_PREFIX = "/ui"
#: ``/ui`` and everything under ``/ui/``, but not ``/uix``.
UI_PATHS = r"/ui(?=/|\Z)"
#: The root alone.
ROOT = r"/\Z"


class _Handler(Protocol):
    def handle(self, req: falcon.Request, resp: falcon.Response) -> None: ...


class UiSink:
    """Hands ``/ui/`` requests to the UI, built on first use (one per worker process)."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._ui: _Handler | None = None
        self._lock = threading.Lock()

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        self._loaded().handle(req, resp)

    def _loaded(self) -> _Handler:
        if self._ui is None:
            with self._lock:
                if self._ui is None:
                    from artifortress.ui.web import WebUI  # heavy: templates, renderers

                    self._ui = WebUI(self._services)
        return self._ui


def wants_html(req: falcon.Request) -> bool:
    """A browser navigating: its ``Accept`` names ``text/html`` (clients of the API never do)."""
    return "text/html" in (req.get_header("Accept") or "").lower()


def root(req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
    """``/``: browsers go to the UI; every other client gets the usual no-route answer."""
    if req.method in ("GET", "HEAD") and wants_html(req):
        resp.status = falcon.HTTP_302
        resp.location = f"{UI_PREFIX}/"
        resp.cache_control = ["no-store"]
        return
    raise falcon.HTTPRouteNotFound()


def mount_ui(app: falcon.App[Any, Any], services: Services) -> None:
    """Add the UI's sinks to *app* (after its routes, which always take precedence)."""
    app.add_sink(UiSink(services), UI_PATHS)
    app.add_sink(root, ROOT)
