"""Issuer URLs and the HTTP fetches of an issuer's discovery document and JWKS."""

from __future__ import annotations

import ipaddress
import json
import time
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import urllib3
from urllib3.exceptions import HTTPError

#: Discovery and JWKS documents are small; anything bigger is not one.
MAX_DOCUMENT_BYTES = 1024 * 1024
_LOOPBACK_NAMES = {"localhost"}


class IssuerUnavailable(Exception):
    """The issuer's discovery document or JWKS could not be fetched or read."""


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_issuer_url(raw: str) -> str:
    """*raw* if it is an acceptable issuer URL, else ValueError saying why.

    https only, except plain http on loopback (a local IdP, the tests): an issuer fetched over
    plain http from elsewhere would let anyone on the path hand us their own signing keys.
    """
    parts = urlsplit(raw)
    if not parts.hostname:
        raise ValueError("the issuer URL names no host")
    if parts.query or parts.fragment:
        raise ValueError("an issuer URL has no query or fragment")
    if parts.scheme == "https":
        return raw
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return raw
    raise ValueError("the issuer URL must use https (plain http only on loopback)")


def discovery_url(issuer: str) -> str:
    """OpenID Connect Discovery 1.0 section 4: issuer + /.well-known/openid-configuration."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


class DocumentFetcher:
    """GETs JSON documents with timeouts and a size bound, over one pool per process."""

    def __init__(self, timeout_seconds: float = 5.0, pool: urllib3.PoolManager | None = None):
        self._timeout = urllib3.Timeout(connect=timeout_seconds, read=timeout_seconds)
        #: The read timeout bounds each wait for bytes; this bounds the whole answer, which
        #: an issuer trickling a byte at a time would otherwise make last for ever.
        self._deadline_seconds = 2 * timeout_seconds
        self._pool = pool or urllib3.PoolManager(num_pools=16, maxsize=4)

    def get_json(self, url: str) -> dict[str, Any]:
        return self._json("GET", url, {}, None)[1]

    def post_form(
        self, url: str, fields: dict[str, str], basic_auth: tuple[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """POST a form with HTTP Basic client authentication: (status, JSON answer).

        An OAuth error answer (400/401 with ``{"error": ...}``) is returned, not raised.
        """
        body = urlencode(fields)
        auth = urllib3.make_headers(
            basic_auth=":".join(quote(part, safe="") for part in basic_auth)
        )
        headers = {**auth, "Content-Type": "application/x-www-form-urlencoded"}
        return self._json("POST", url, headers, body, ok=(200, 400, 401))

    def _json(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: str | None,
        ok: tuple[int, ...] = (200,),
    ) -> tuple[int, dict[str, Any]]:
        _check_fetch_url(url)
        try:
            response = self._pool.request(
                method,
                url,
                body=body,
                headers={"Accept": "application/json", **headers},
                timeout=self._timeout,
                retries=urllib3.Retry(total=1 if method == "GET" else 0, redirect=0),
                preload_content=False,
            )
            try:
                answer = self._read_bounded(response, url)
            finally:
                response.release_conn()
        except HTTPError as exc:
            raise IssuerUnavailable(f"cannot fetch {url}: {type(exc).__name__}") from None
        if response.status not in ok:
            raise IssuerUnavailable(f"{url} answered HTTP {response.status}")
        if len(answer) > MAX_DOCUMENT_BYTES:
            raise IssuerUnavailable(f"{url} answered a document over {MAX_DOCUMENT_BYTES} bytes")
        try:
            document = json.loads(answer)
        except ValueError:
            raise IssuerUnavailable(f"{url} answered something other than JSON") from None
        if not isinstance(document, dict):
            raise IssuerUnavailable(f"{url} answered JSON that is not an object")
        return response.status, document

    def _read_bounded(self, response: urllib3.BaseHTTPResponse, url: str) -> bytes:
        """The body, up to one byte over the size bound, read within the deadline."""
        deadline = time.monotonic() + self._deadline_seconds
        answer = bytearray()
        while len(answer) <= MAX_DOCUMENT_BYTES:
            chunk = response.read1(MAX_DOCUMENT_BYTES + 1 - len(answer))
            if not chunk:
                break
            answer += chunk
            if time.monotonic() > deadline:
                raise IssuerUnavailable(f"{url} answered too slowly")
        return bytes(answer)

    def close(self) -> None:
        self._pool.clear()


def _check_fetch_url(url: str) -> None:
    """Documents of an issuer come over https (or loopback http), as the issuer itself."""
    parts = urlsplit(url)
    secure = parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname is not None and is_loopback(parts.hostname)
    )
    if not secure:
        raise IssuerUnavailable(f"refusing to fetch {url}: https only (http only on loopback)")
