"""Jinja filters: dates, sizes and digests as people read them."""

from __future__ import annotations

import datetime as dt

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def size(value: int | None) -> str:
    """``1536`` -> ``1.5 KiB``."""
    if value is None:
        return ""
    amount = float(value)
    for unit in _UNITS:
        if amount < 1024 or unit == _UNITS[-1]:
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{value} B"  # pragma: no cover - the loop always returns


def when(value: dt.datetime | None) -> str:
    """A UTC timestamp to the minute (``2026-12-07 12:30 UTC``)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def iso(value: dt.datetime | None) -> str:
    """Machine-readable form for ``<time datetime=...>``."""
    return value.astimezone(dt.UTC).isoformat() if value else ""


def hex_digest(digest: str) -> str:
    """``sha256:abc...`` -> ``abc...``."""
    return digest.partition(":")[2] or digest
