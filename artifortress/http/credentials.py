"""Pulling a token out of an ``Authorization`` header.

Accepted: ``Bearer TOKEN`` (npm, curl) and ``Basic`` with any user name and the
token as password (pip, uv and twine send ``__token__:TOKEN``).
"""

from __future__ import annotations

import base64
import binascii

from artifortress.errors import Unauthenticated


def token_from_header(header: str | None) -> str | None:
    """The token in *header*; ``None`` when there is no header; 401 when malformed."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value.strip():
        return value.strip()
    if scheme == "basic":
        return _password_of(value.strip())
    raise Unauthenticated(
        "use 'Authorization: Bearer TOKEN' or Basic auth with the token as password"
    )


def _password_of(encoded: str) -> str:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("the Basic credentials are not valid base64") from None
    _user, sep, password = decoded.partition(":")
    if not sep or not password:
        raise Unauthenticated("Basic credentials need the token as password")
    return password
