"""The one resource under ``/go/{repo}/``: a GOPROXY for reads, PUT of module zips for writes."""

from __future__ import annotations

import falcon

from artifortress.plugin import (
    ArtifortressError,
    BadRequest,
    Gateway,
    Permission,
    raised_as,
    requires,
)
from artifortress_goproxy.errors import GoProxyError
from artifortress_goproxy.protocol import GoRequest, parse_url
from artifortress_goproxy.reads import SENDERS
from artifortress_goproxy.upload import publish_zip


class ModuleResource:
    """``/go/{repo}/{module}/@v/...`` and ``/go/{repo}/{module}/@latest``."""

    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, path: str) -> None:
        wanted = _parsed(path)
        SENDERS[wanted.kind](Gateway(req), resp, wanted)

    # publishes: no transaction is held while the zip streams in and is checked.
    @requires(Permission.WRITE, action="version.publish", publishes=True)
    def on_put(self, req: falcon.Request, resp: falcon.Response, repo: str, path: str) -> None:
        publish_zip(Gateway(req), resp, _zip_url(path, "upload a module by PUT of its zip"))

    @requires(Permission.WRITE, action="version.delete")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, repo: str, path: str) -> None:
        """Delete a version: its URLs then answer 410 and its number is never used again."""
        wanted = _zip_url(path, "delete a version by DELETE of its zip")
        gateway = Gateway(req)
        gateway.delete_version(gateway.repo, wanted.module, wanted.version)
        resp.media = {"deleted": f"{wanted.module}@{wanted.version}"}


def _parsed(path: str) -> GoRequest:
    with raised_as(GoProxyError):
        return parse_url(path)


def _zip_url(path: str, what: str) -> GoRequest:
    wanted = _parsed(path)
    if wanted.kind != "zip":
        raise BadRequest(f"{what}: $module/@v/$version.zip")
    return wanted


def render_error(req: falcon.Request, resp: falcon.Response, error: ArtifortressError) -> None:
    """Errors as plain text: the go command prints a text/plain body as "server response"."""
    resp.status = error.status
    resp.content_type = "text/plain; charset=utf-8"
    resp.text = error.message + "\n"
