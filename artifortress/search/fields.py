"""The searchable fields of a version: plugin contributions first, the core's reading after."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from artifortress.versions.views import VersionInfo

FIELDS = ("summary", "description", "keywords")
MAX_SUMMARY = 1000
MAX_DESCRIPTION = 20_000
MAX_KEYWORDS = 50
#: A metadata ``description`` this short is a summary (npm's is; PyPI's is the README).
SHORT_DESCRIPTION = 300


def search_fields(pm: pluggy.PluginManager, format: str, version: VersionInfo) -> dict[str, str]:
    """``summary``, ``description`` and space-separated ``keywords`` of *version*.

    For each field the first plugin answer (in pluggy's call order) with a
    non-empty value wins; fields no plugin gives come from the version's
    metadata (``summary``, ``description``, ``keywords``).
    """
    merged: dict[str, Any] = {}
    for contribution in pm.hook.artifortress_search_fields(format=format, version=version):
        if not isinstance(contribution, Mapping):
            continue
        for key in FIELDS:
            if not merged.get(key) and contribution.get(key):
                merged[key] = contribution[key]
    for key, value in default_fields(version.metadata).items():
        if not merged.get(key):
            merged[key] = value
    return {
        "summary": _text(merged.get("summary"), MAX_SUMMARY),
        "description": _text(merged.get("description"), MAX_DESCRIPTION),
        "keywords": " ".join(_keywords(merged.get("keywords"))),
    }


def default_fields(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The core's reading of common metadata keys (PyPI core metadata, npm manifests)."""
    summary = metadata.get("summary")
    description = metadata.get("description")
    if not isinstance(summary, str) or not summary.strip():
        short = isinstance(description, str) and len(description) <= SHORT_DESCRIPTION
        summary = description if short else ""
    return {
        "summary": summary,
        "description": description if isinstance(description, str) else "",
        "keywords": metadata.get("keywords"),
    }


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _keywords(value: Any) -> list[str]:
    """Keywords from a list or a comma/space separated string, de-duplicated, bounded."""
    if isinstance(value, str):
        items = re.split(r"[,\s]+", value)
    elif isinstance(value, list | tuple):
        items = [item for item in value if isinstance(item, str)]
    else:
        return []
    seen: dict[str, None] = {}
    for item in items:
        word = item.strip()[:64]
        if word:
            seen.setdefault(word, None)
    return list(seen)[:MAX_KEYWORDS]
