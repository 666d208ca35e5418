"""Swagger UI at ``/v1/docs``, its files served by the gateway itself (no CDN).

The files come from the ``swagger-ui-dist`` npm package, vendored at build
time into the environment (``make serve`` and ``make test`` put them in
``.venv/share/swagger-ui-dist``, the Docker image in ``/usr/local/share/...``;
see :func:`default_folder`).  Without them, ``/v1/docs`` answers 404 saying
how to install them; the API and ``/v1/openapi.json`` are unaffected.

The page loads nothing from elsewhere and runs no inline script, so its
Content-Security-Policy allows only this origin (``data:`` images are the
icons inside Swagger UI's own stylesheet).
"""

from __future__ import annotations

import sys
from pathlib import Path

import falcon

from artifortress.errors import NotFound
from artifortress.http.openapi import answers, responds
from artifortress.http.permissions import public

#: The files of the page, by name as served under ``/v1/docs/``, with their media type.
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
#: Our start-up script: a file, because the policy forbids inline scripts.
INIT_SCRIPT = "artifortress-docs.js"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
#: Relative URLs: the page is ``/v1/docs``, so they resolve under ``/v1/`` behind any prefix.
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Artifortress API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/artifortress-docs.js"></script>
</body>
</html>
"""
INIT = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: new URL("openapi.json", document.baseURI).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
};
"""
_HTML = {"description": "The Swagger UI page", "content": {"text/html": {}}}
_MISSING = (
    "Swagger UI is not installed on this server: `make serve` installs it with npm "
    "(package swagger-ui-dist) into {folder}. The API document is at /v1/openapi.json."
)


def default_folder() -> Path:
    """Where the build put swagger-ui-dist's files: ``share/`` of the running environment."""
    return Path(sys.prefix) / "share" / "swagger-ui-dist"


class DocsPageResource:
    def __init__(self, folder: Path) -> None:
        self._folder = folder

    @public
    @answers(404)
    @responds({200: _HTML})
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Swagger UI over ``/v1/openapi.json`` (404 when the build did not install it)."""
        _require_installed(self._folder)
        _secure(resp)
        resp.content_type = falcon.MEDIA_HTML
        resp.text = PAGE


class DocsAssetResource:
    def __init__(self, folder: Path) -> None:
        self._folder = folder

    @public
    @answers(404)
    def on_get(self, req: falcon.Request, resp: falcon.Response, asset: str) -> None:
        """One file of the Swagger UI page."""
        _require_installed(self._folder)
        _secure(resp)
        resp.cache_control = ["public", "max-age=3600"]
        if asset == INIT_SCRIPT:
            resp.content_type = ASSETS["swagger-ui-bundle.js"]
            resp.text = INIT
            return
        if asset not in ASSETS:  # a fixed list: nothing else of the folder is served
            raise NotFound(f"no file {asset!r} in /v1/docs")
        resp.content_type = ASSETS[asset]
        resp.data = (self._folder / asset).read_bytes()


def asset_names() -> list[str]:
    """Every name ``/v1/docs/{asset}`` serves (for the OpenAPI document)."""
    return sorted([*ASSETS, INIT_SCRIPT])


def _require_installed(folder: Path) -> None:
    if not all((folder / name).is_file() for name in ASSETS):
        raise NotFound(_MISSING.format(folder=folder))


def _secure(resp: falcon.Response) -> None:
    resp.set_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    resp.set_header("X-Content-Type-Options", "nosniff")
