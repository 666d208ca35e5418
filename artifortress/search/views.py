"""What a search answers: read-only hits, for the REST API and for plugins (``Gateway.search``)."""

from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True)
class SearchHit:
    """One package found, described by its current version."""

    repo: str
    format: str
    name: str
    display_name: str
    version: str
    summary: str
    description: str
    keywords: tuple[str, ...]
    published_at: dt.datetime | None
    #: Relevance; higher is better, comparable only within one answer.
    score: float


@dataclasses.dataclass(frozen=True)
class SearchResults:
    """One page of hits and how many there are in all."""

    hits: tuple[SearchHit, ...]
    total: int
