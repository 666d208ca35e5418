"""Opaque keyset cursors shared by every paginated listing."""

from __future__ import annotations

import base64

from artifortress.errors import BadRequest

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def encode_cursor(last_key: int | str) -> str:
    """Wrap the last row's sort key so clients treat it as opaque."""
    return (
        base64.urlsafe_b64encode(f"{type(last_key).__name__}:{last_key}".encode())
        .decode()
        .rstrip("=")
    )


def decode_int_cursor(cursor: str) -> int:
    return int(_decode(cursor, "int"))


def decode_str_cursor(cursor: str) -> str:
    return _decode(cursor, "str")


def _decode(cursor: str, kind: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        if prefix != kind:
            raise ValueError(prefix)
        if kind == "int":
            int(value)
        return value
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(f"cursor {cursor!r} is not one this API handed out") from None


def clamp_limit(limit: int | None) -> int:
    """Between 1 and MAX_LIMIT; DEFAULT_LIMIT when absent."""
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1:
        raise BadRequest("limit must be at least 1")
    return min(limit, MAX_LIMIT)
