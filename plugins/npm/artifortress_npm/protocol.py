"""npm's error shape (``{"error": message}``) and the translation of the pure modules' errors."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager

import falcon

from artifortress.plugin import ArtifortressError, raised_as
from artifortress_npm.errors import NpmError


def render_error(req: falcon.Request, resp: falcon.Response, error: ArtifortressError) -> None:
    """The npm format's error renderer: npm prints ``error`` (and ``reason``) to the user."""
    resp.status = error.status
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps(
        {
            "error": error.message,
            "reason": error.message,
            "code": error.code,
            "request_id": getattr(req.context, "request_id", None),
        }
    )


def translated() -> AbstractContextManager[None]:
    """NpmError of the pure modules -> the core's errors, keeping message and status."""
    return raised_as(NpmError)
