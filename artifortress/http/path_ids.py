"""Numeric ids in URL paths, without falcon's converters (so route templates stay plain)."""

from __future__ import annotations

from artifortress.errors import NotFound

#: 18 digits always fit a 64-bit id; longer ones cannot name anything.
MAX_DIGITS = 18


def path_id(value: str, what: str) -> int:
    """The id *value* of a *what*; anything but 1-18 digits names nothing (404)."""
    if not value.isdigit() or len(value) > MAX_DIGITS or not value.isascii():
        raise NotFound(f"no {what} {value!r}")
    return int(value)
