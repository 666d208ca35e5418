"""Short-lived scoped tokens: signed, stored nowhere, derived from the token that asked.

A protocol whose clients trade their credentials for a token first (the Docker
registry token flow of OCI clients) gets one of these instead of a new row per
pull: ``afst_<claims>.<signature>``, an HMAC over its claims with a key derived
from the installation's secret (``ARTIFORTRESS_SECRET_KEY`` or
``HOME/secret.key``, shared by every node). The claims name the personal access
token it was derived from (``None``: the anonymous caller), the repositories it
may touch, whether it is read-only, and when it expires; a token minted for a
trusted publisher (:mod:`artifortress.publishing`) also names the CI identity. Authenticating one
checks the signature and expiry, then the parent token as usual (revoked,
expired, user disabled), and narrows the parent's principal: it never grants more.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import Collection, Mapping
from typing import Any

PREFIX = "afst_"
#: The longest life a scoped token may be given.
MAX_TTL_SECONDS = 3600
#: Claims beyond this size are not ours (and are not parsed).
_MAX_TOKEN = 8192


@dataclasses.dataclass(frozen=True)
class Claims:
    tenant_id: int
    #: Key id of the personal access token it derives from; ``None``: anonymous.
    parent: str | None
    #: ``None``: every repository its parent may touch (a catalog listing, say).
    repos: frozenset[str] | None
    read_only: bool
    expires: int
    #: The trusted publisher's identity (``Principal.publisher``); ``None`` otherwise.
    publisher: dict[str, str] | None = None


def signing_key(secret: str) -> bytes:
    """The HMAC key of scoped tokens, derived from the installation's secret."""
    return hashlib.sha256(b"artifortress scoped tokens v1\0" + secret.encode()).digest()


def mint(key: bytes, claims: Claims) -> str:
    body = {
        "t": claims.tenant_id,
        "k": claims.parent,
        "r": sorted(claims.repos) if claims.repos is not None else None,
        "ro": claims.read_only,
        "e": claims.expires,
        **({"p": claims.publisher} if claims.publisher is not None else {}),
    }
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{PREFIX}{payload}.{_b64(_sign(key, payload))}"


def is_scoped(token: str) -> bool:
    return token.startswith(PREFIX)


def verify(key: bytes, token: str, now: float | None = None) -> Claims | None:
    """The claims of a token we signed that has not expired, else ``None``."""
    if len(token) > _MAX_TOKEN or not is_scoped(token):
        return None
    payload, _, signature = token[len(PREFIX) :].partition(".")
    given = _unb64(signature)
    if given is None or not hmac.compare_digest(given, _sign(key, payload)):
        return None
    claims = _claims(_unb64(payload))
    if claims is None or claims.expires <= (time.time() if now is None else now):
        return None
    return claims


def new_claims(
    tenant_id: int,
    parent: str | None,
    repos: Collection[str] | None,
    *,
    read_only: bool,
    ttl_seconds: int,
    publisher: Mapping[str, str] | None = None,
    not_after: int | None = None,
) -> Claims:
    """Claims living *ttl_seconds* (1 s to an hour), and never past *not_after* if given."""
    ttl = max(1, min(ttl_seconds, MAX_TTL_SECONDS))
    expires = int(time.time()) + ttl
    if not_after is not None:
        expires = min(expires, not_after)
    scope = frozenset(repos) if repos is not None else None
    named = dict(publisher) if publisher is not None else None
    return Claims(tenant_id, parent, scope, read_only, expires, named)


def _claims(raw: bytes | None) -> Claims | None:
    try:
        body: Any = json.loads(raw) if raw is not None else None
        return Claims(
            tenant_id=int(body["t"]),
            parent=None if body["k"] is None else str(body["k"]),
            repos=None if body["r"] is None else frozenset(str(r) for r in body["r"]),
            read_only=bool(body["ro"]),
            expires=int(body["e"]),
            publisher=_publisher(body.get("p")),
        )
    except (ValueError, TypeError, KeyError):
        return None


def _publisher(raw: object) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("the publisher claim is not an object")
    return {str(name): str(value) for name, value in raw.items()}


def _sign(key: bytes, payload: str) -> bytes:
    return hmac.new(key, payload.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
