"""Errors as twine, uv and pip read them: the reason phrase and a body carrying the message.

twine and poetry show the HTTP reason phrase ("409 File already exists ..."), uv
reads a JSON body's ``message``; warehouse puts the text in both.  Only the
upload URL carries the message in its reason phrase: elsewhere (pip, uv) the
phrase is the standard one, so no page echoes a request's text there.
"""

from __future__ import annotations

import json
import re
from contextlib import AbstractContextManager

import falcon

from artifortress.plugin import ArtifortressError, raised_as
from artifortress_pypi.errors import PypiError

_UNSAFE = re.compile(r"[^\x20-\x7e]")
MAX_REASON = 300


def render_error(req: falcon.Request, resp: falcon.Response, error: ArtifortressError) -> None:
    """The pypi format's error renderer (see FormatSpec.render_error)."""
    if _is_upload(req):
        resp.status = f"{error.status} {_reason(error.message)}"
    else:  # pip and uv read the body; a fixed phrase echoes nothing of the request
        resp.status = error.status
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps(
        {
            "message": error.message,
            "code": error.code,
            "request_id": getattr(req.context, "request_id", None),
        }
    )


def _is_upload(req: falcon.Request) -> bool:
    """The upload URL (``/legacy/``), where twine and poetry show the reason phrase."""
    return (req.uri_template or "").rstrip("/").endswith("/legacy")


def _reason(message: str) -> str:
    """*message* as a reason phrase: printable ASCII only, so no header can be forged."""
    return _UNSAFE.sub(" ", message)[:MAX_REASON].strip() or "Error"


def translated() -> AbstractContextManager[None]:
    """PypiError of the pure modules -> the core's errors, keeping message and status."""
    return raised_as(PypiError)
