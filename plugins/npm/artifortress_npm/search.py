"""``GET /-/v1/search``: query parameters and the response document npm reads.

npm's formatter maps ``maintainers[].username`` unconditionally, so every object carries a
``maintainers`` list, even an empty one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from artifortress_npm.errors import NpmError
from artifortress_npm.names import split_name
from artifortress_npm.packument import iso

DEFAULT_SIZE = 20
MAX_SIZE = 250  # the public registry's limit
MAX_OFFSET = 10_000
MAX_TEXT = 256


@dataclass(frozen=True)
class SearchQuery:
    """The validated ``text``, ``size`` and ``from`` parameters."""

    text: str
    size: int
    offset: int


@dataclass(frozen=True)
class SearchHit:
    """One package found; ``publisher`` and maintainers use ``username``/``email`` keys."""

    name: str
    version: str
    description: str = ""
    keywords: Sequence[str] = ()
    date: datetime | None = None
    links: Mapping[str, str] = field(default_factory=dict)
    publisher: Mapping[str, str] | None = None
    maintainers: Sequence[Mapping[str, str]] = ()
    score: float = 1.0


def parse_search_query(params: Mapping[str, str]) -> SearchQuery:
    """Validate the query string of a search (400 for non-numeric or negative numbers)."""
    text = params.get("text", "").strip()
    if len(text) > MAX_TEXT:
        raise NpmError(f"search text is longer than {MAX_TEXT} characters")
    size = _int_param(params, "size", DEFAULT_SIZE)
    offset = _int_param(params, "from", 0)
    return SearchQuery(text=text, size=max(1, min(size, MAX_SIZE)), offset=min(offset, MAX_OFFSET))


def _int_param(params: Mapping[str, str], key: str, default: int) -> int:
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise NpmError(f"{key} must be a non-negative integer")
    return int(raw[:9])


def hit_from_manifest(
    name: str,
    manifest: Mapping[str, Any],
    *,
    date: datetime | None = None,
    maintainers: Sequence[Mapping[str, str]] = (),
    score: float = 1.0,
) -> SearchHit:
    """Build a hit from a stored version manifest (usually the ``latest`` one)."""
    keywords = manifest.get("keywords")
    publisher = manifest.get("_npmUser")
    description = manifest.get("description")
    return SearchHit(
        name=name,
        version=str(manifest.get("version", "")),
        description=description if isinstance(description, str) else "",
        keywords=[k for k in keywords if isinstance(k, str)] if isinstance(keywords, list) else (),
        date=date,
        links=_links(manifest),
        publisher=_person(publisher) if isinstance(publisher, Mapping) else None,
        maintainers=[_person(m) for m in maintainers],
        score=score,
    )


def _links(manifest: Mapping[str, Any]) -> dict[str, str]:
    links: dict[str, str] = {}
    for key in ("homepage", "repository", "bugs"):
        value = manifest.get(key)
        if isinstance(value, Mapping):
            value = value.get("url")
        if isinstance(value, str) and value:
            links[key] = value.removeprefix("git+")
    return links


def _person(person: Mapping[str, Any]) -> dict[str, str]:
    username = person.get("username", person.get("name", ""))
    return {"username": str(username), "email": str(person.get("email", ""))}


def render_search(hits: Sequence[SearchHit], total: int, *, now: datetime | None = None) -> bytes:
    """Serialize search results as ``{objects, total, time}``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    document = {
        "objects": [_object(hit) for hit in hits],
        "total": total,
        "time": moment.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)"),
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _object(hit: SearchHit) -> dict[str, Any]:
    scope, _ = split_name(hit.name)
    package: dict[str, Any] = {
        "name": hit.name,
        "scope": scope[1:] if scope else "unscoped",
        "version": hit.version,
        "description": hit.description,
        "keywords": list(hit.keywords),
        "date": iso(hit.date) if hit.date else None,
        "links": dict(hit.links),
        "maintainers": [dict(m) for m in hit.maintainers],
    }
    if hit.publisher is not None:
        package["publisher"] = dict(hit.publisher)
    score = {"quality": hit.score, "popularity": hit.score, "maintenance": hit.score}
    return {
        "package": package,
        "score": {"final": hit.score, "detail": score},
        "searchScore": hit.score,
    }
