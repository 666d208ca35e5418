"""Errors as twine, uv and pip read them: the reason phrase and a body carrying the message.

twine and poetry show the HTTP reason phrase ("409 File already exists ..."), uv
reads a JSON body's ``message``; warehouse puts the text in both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import falcon

from artifortress.plugin import ArtifortressError, BadRequest, PayloadTooLarge
from artifortress_pypi.errors import PypiError

_UNSAFE = re.compile(r"[^\x20-\x7e]")
MAX_REASON = 300


def render_error(req: falcon.Request, resp: falcon.Response, error: ArtifortressError) -> None:
    """The pypi format's error renderer (see FormatSpec.render_error)."""
    reason = _UNSAFE.sub(" ", error.message)[:MAX_REASON].strip() or "Error"
    resp.status = f"{error.status} {reason}"
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps(
        {
            "message": error.message,
            "code": error.code,
            "request_id": getattr(req.context, "request_id", None),
        }
    )


@contextmanager
def translated() -> Iterator[None]:
    """Turn the pure modules' PypiError into the core's errors (same message and status)."""
    try:
        yield
    except PypiError as exc:
        error: ArtifortressError = (
            PayloadTooLarge(exc.message) if exc.status == 413 else BadRequest(exc.message)
        )
        error.status = exc.status
        raise error from None
