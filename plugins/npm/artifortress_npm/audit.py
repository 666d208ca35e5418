"""Audit endpoints answering "no advisories" in the shapes npm accepts.

Arborist first posts ``/-/npm/v1/security/advisories/bulk`` (``{name: [versions]}``) and
falls back to ``/-/npm/v1/security/audits/quick`` (a lockfile-like tree); both bodies are
sent gzip-compressed (npm-registry-fetch ``gzip: true``). An empty bulk answer is ``{}``;
the quick answer needs ``advisories`` (arborist's ``auditToBulk`` throws without it).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from typing import Any

from artifortress_npm.errors import NpmError

MAX_AUDIT_BODY = 32 * 1024 * 1024  # decompressed; a big monorepo's tree is a few MB
MAX_TREE_NODES = 500_000
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


def bulk_advisories(body: Any) -> bytes:
    """Answer the bulk endpoint: ``{}`` (no advisories) for a well-formed request."""
    if not isinstance(body, dict) or not all(isinstance(v, list) for v in body.values()):
        raise NpmError("bulk advisory request must map package names to version lists")
    return b"{}"


def quick_audit(body: Any) -> bytes:
    """Answer the quick endpoint: no advisories, with dependency counts of the request."""
    if not isinstance(body, dict):
        raise NpmError("quick audit request must be a JSON object")
    counts = _count_dependencies(body.get("dependencies"))
    document = {
        "actions": [],
        "advisories": {},
        "muted": [],
        "metadata": {
            "vulnerabilities": {"info": 0, "low": 0, "moderate": 0, "high": 0, "critical": 0},
            "dependencies": counts["prod"],
            "devDependencies": counts["dev"],
            "optionalDependencies": counts["optional"],
            "totalDependencies": counts["prod"] + counts["dev"],
        },
    }
    return json.dumps(document, separators=(",", ":")).encode()


def _count_dependencies(tree: object) -> dict[str, int]:
    """Count the nodes of a lockfile-v1-style ``dependencies`` tree, iteratively."""
    counts = {"prod": 0, "dev": 0, "optional": 0}
    pending = [tree]
    visited = 0
    while pending:
        node = pending.pop()
        if not isinstance(node, Mapping):
            continue
        for entry in node.values():
            visited += 1
            if visited > MAX_TREE_NODES:
                raise NpmError("quick audit request has too many dependencies", 413)
            if not isinstance(entry, Mapping):
                continue
            counts["dev" if entry.get("dev") else "prod"] += 1
            counts["optional"] += 1 if entry.get("optional") else 0
            pending.append(entry.get("dependencies"))
    return counts
