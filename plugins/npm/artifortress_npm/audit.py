"""Audit endpoints saying that no audit can be done here (no advisories are known).

Arborist posts ``/-/npm/v1/security/advisories/bulk`` (``{name: [versions]}``); npm
before 7 posted ``/-/npm/v1/security/audits/quick`` (a lockfile-like tree). Bodies are
sent gzip-compressed (npm-registry-fetch ``gzip: true``). A bad body is refused (400,
413, 415); a good one gets :func:`audit_unavailable`.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from artifortress_npm.errors import NpmError

MAX_AUDIT_BODY = 32 * 1024 * 1024  # decompressed; a big monorepo's tree is a few MB
_GZIP_MAGIC = b"\x1f\x8b"


def read_audit_body(
    raw: bytes, *, content_encoding: str | None = None, max_size: int = MAX_AUDIT_BODY
) -> Any:
    """Decompress (gzip or deflate, bounded) and parse an audit request body."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip") or raw.startswith(_GZIP_MAGIC):
        raw = _inflate(raw, zlib.MAX_WBITS | 16, max_size)
    elif encoding == "deflate":
        raw = _inflate(raw, zlib.MAX_WBITS, max_size)
    elif encoding not in ("", "identity"):
        raise NpmError(f"unsupported Content-Encoding {encoding!r}", 415)
    if len(raw) > max_size:
        raise NpmError(f"audit body exceeds {max_size} bytes", 413)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise NpmError("audit body is not valid JSON") from None


def _inflate(data: bytes, wbits: int, max_size: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        result = inflater.decompress(data, max_size + 1)
    except zlib.error as exc:
        raise NpmError(f"audit body is not valid compressed data: {exc}") from None
    if len(result) > max_size or inflater.unconsumed_tail:
        raise NpmError(f"audit body exceeds {max_size} bytes once decompressed", 413)
    if not inflater.eof:
        raise NpmError("audit body is truncated compressed data")
    return result


def check_bulk_request(body: Any) -> None:
    """Refuse a bulk request that is not ``{name: [versions]}`` (400)."""
    if not isinstance(body, dict) or not all(isinstance(v, list) for v in body.values()):
        raise NpmError("bulk advisory request must map package names to version lists")


def check_quick_request(body: Any) -> None:
    """Refuse a quick audit request that is not a JSON object (400)."""
    if not isinstance(body, dict):
        raise NpmError("quick audit request must be a JSON object")


def audit_unavailable() -> NpmError:
    """The answer to a well-formed audit request: 404, as no advisories are known here.

    An empty report would make ``npm install`` print "found 0 vulnerabilities", an
    assurance nobody gave.  On any error status npm 11 installs as usual and says
    nothing about vulnerabilities; ``npm audit`` fails, printing this message.  404
    rather than 501 or 503: it is the registry's answer, not a server fault, and
    must not count in the 5xx error rate that operators alert on.
    """
    return NpmError(
        "no security advisories are available from this registry: the audit was not done", 404
    )
