"""How every refusal under ``/v2/`` is answered: the spec's JSON body and codes.

:func:`oci_errors` turns an :class:`OciError` into the core's error of the same
status (so refusals take the core's one path, and 403s its audit), carrying
the OCI code in its details; :func:`render_error` writes the spec's body, and
a 401 challenges the client to the token flow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import falcon

from artifortress.plugin import ArtifortressError, Gateway, error_for_status
from artifortress_oci.auth import TOKEN_PATH, challenge
from artifortress_oci.errors import (
    API_VERSION_HEADER,
    BLOB_UNKNOWN,
    BLOB_UPLOAD_INVALID,
    DENIED,
    DIGEST_INVALID,
    MANIFEST_INVALID,
    MANIFEST_UNKNOWN,
    NAME_UNKNOWN,
    SIZE_INVALID,
    TOOMANYREQUESTS,
    UNAUTHORIZED,
    UNSUPPORTED,
    OciError,
)

#: Where the OCI code travels on a core error (its ``details``).
CODE_DETAIL = "oci_code"

#: The spec's code for a core error that names none, by status.
_BY_STATUS = {
    400: UNSUPPORTED,
    401: UNAUTHORIZED,
    403: DENIED,
    404: NAME_UNKNOWN,
    405: UNSUPPORTED,
    409: DENIED,
    410: MANIFEST_UNKNOWN,
    413: SIZE_INVALID,
    415: MANIFEST_INVALID,
    416: BLOB_UPLOAD_INVALID,
    429: TOOMANYREQUESTS,
}
#: Core error codes that have an OCI code of their own.
_BY_CORE_CODE = {
    "digest_mismatch": DIGEST_INVALID,
    "size_mismatch": SIZE_INVALID,
    "blob_not_found": BLOB_UNKNOWN,
    "payload_too_large": SIZE_INVALID,
}


def core_error(error: OciError) -> ArtifortressError:
    """The core's error for *error*: same status and message, the OCI code in its details."""
    translated = error_for_status(error.message, error.status)
    translated.details[CODE_DETAIL] = error.code
    return translated


@contextmanager
def oci_errors() -> Iterator[None]:
    """Re-raise :class:`OciError` as the core's error, so one renderer answers it."""
    try:
        yield
    except OciError as exc:
        raise core_error(exc) from None


def oci_code(error: ArtifortressError) -> str:
    """The spec's code for any error answered under ``/v2/``."""
    named = error.details.get(CODE_DETAIL)
    if isinstance(named, str):
        return named
    return _BY_CORE_CODE.get(error.code) or _BY_STATUS.get(error.status, "UNKNOWN")


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message, "detail": {}}]}).encode()


def render_error(req: falcon.Request, resp: falcon.Response, error: ArtifortressError) -> None:
    """Answer *error* the distribution-spec's way (a body HEAD requests go without).

    A 401 challenges the client to the token flow (:mod:`.auth`), except on the
    token endpoint itself, which asks for Basic credentials.
    """
    resp.status = error.status
    if error.status == 401 and not req.path.startswith(TOKEN_PATH):
        realm = Gateway(req).public_url(TOKEN_PATH)
        service = urlsplit(realm).netloc
        resp.set_header("WWW-Authenticate", challenge(realm, service, req.path, req.method))
    resp.set_header(*API_VERSION_HEADER)
    resp.content_type = falcon.MEDIA_JSON
    resp.data = error_body(oci_code(error), error.message)
