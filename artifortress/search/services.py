"""Querying the search projection, limited to what the caller may read.

Visibility is decided at query time from the repositories table and the
caller's role bindings, never from the projection, so a stale index cannot
show a repository that became private.  Any database error of the query
(the index table missing or broken) is a 503 for search alone; every other
API keeps working because nothing else reads these tables.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy import ColumnElement, Select, column, func, literal_column, or_, select, table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from artifortress.auth.principal import Principal
from artifortress.db.dialects import is_postgres
from artifortress.errors import ServiceUnavailable
from artifortress.rbac.services import readable_repo_ids
from artifortress.repos.models import Repository
from artifortress.search.models import SearchDocument
from artifortress.search.schema import FTS, PG_COLUMN, TABLE
from artifortress.search.views import SearchHit, SearchResults

log = logging.getLogger("artifortress.search")

MAX_WORDS = 10
MAX_WORD = 64
#: Deeper pages cost more than anyone reads; narrow the query instead.
MAX_OFFSET = 10_000
_WORD = re.compile(r"[^\W_]+")
_fts = table(FTS, column("rowid"))


def query_words(text: str | None) -> list[str]:
    """The words of a query (letters and digits; punctuation splits, as in the index)."""
    words = [w.lower()[:MAX_WORD] for w in _WORD.findall(text or "")]
    return list(dict.fromkeys(words))[:MAX_WORDS]


def visible_to(db: Session, principal: Principal) -> list[ColumnElement[bool]]:
    """Conditions on ``Repository``: what *principal* may read (as ``GET /v1/repos`` lists)."""
    conditions: list[ColumnElement[bool]] = [Repository.tenant_id == principal.tenant_id]
    bound = readable_repo_ids(db, principal)
    if bound is not None:
        conditions.append(or_(Repository.public.is_(True), Repository.id.in_(bound)))
    if principal.repo_scopes is not None:
        conditions.append(Repository.key.in_(sorted(principal.repo_scopes)))
    return conditions


def search(
    db: Session,
    principal: Principal,
    text: str | None,
    *,
    format: str | None = None,
    repo: str | None = None,
    offset: int = 0,
    limit: int = 20,
) -> SearchResults:
    """Packages matching every word of *text* (prefixes too), best first; 503 if the index fails."""
    words = query_words(text)
    postgres = is_postgres(db)
    score = _score(words, postgres)
    stmt: Select[Any] = (
        select(SearchDocument, Repository.key, score.label("score"))
        .join(Repository, Repository.id == SearchDocument.repository_id)
        .where(*visible_to(db, principal))
    )
    if format:
        stmt = stmt.where(SearchDocument.format == format)
    if repo:
        stmt = stmt.where(Repository.key == repo)
    if words:
        stmt = _match(stmt, words, postgres)
    exact = " ".join(words) if len(words) == 1 else (text or "").strip().lower()
    ordered = stmt.order_by(
        (SearchDocument.name == exact).desc(),
        literal_column("score").desc(),
        SearchDocument.published_at.desc(),
        SearchDocument.name,
    )
    try:
        with db.begin_nested():  # a failing query must not poison the request's transaction
            total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            rows = db.execute(ordered.offset(min(offset, MAX_OFFSET)).limit(limit)).all()
    except DBAPIError as exc:
        log.warning("search index unavailable: %s", str(exc.orig or exc).splitlines()[0])
        raise ServiceUnavailable(
            "search is unavailable right now (the index is being rebuilt or broken; an "
            "operator can run `artifortress reindex`); everything else keeps working",
            retry_after=30,
        ) from None
    return SearchResults(tuple(_hit(doc, key, float(s or 0)) for doc, key, s in rows), total)


def _score(words: list[str], postgres: bool) -> ColumnElement[Any]:
    if not words:
        return literal_column("0.0")
    if postgres:
        return func.ts_rank_cd(literal_column(f"{TABLE}.{PG_COLUMN}"), _tsquery(words))
    # bm25 is lower-is-better; weights follow the FTS columns (name first).
    return -func.bm25(literal_column(FTS), 10.0, 10.0, 5.0, 2.0, 1.0)


def _tsquery(words: list[str]) -> ColumnElement[Any]:
    query = " & ".join(f"{word}:*" for word in words)
    return func.to_tsquery(literal_column("'simple'::regconfig"), query)


def _match(stmt: Select[Any], words: list[str], postgres: bool) -> Select[Any]:
    if postgres:
        return stmt.where(literal_column(f"{TABLE}.{PG_COLUMN}").op("@@")(_tsquery(words)))
    fts_query = " ".join(f'"{word}"*' for word in words)  # every word, each as a prefix
    return stmt.join(_fts, _fts.c.rowid == SearchDocument.package_id).where(
        literal_column(FTS).op("MATCH")(fts_query)
    )


def _hit(doc: SearchDocument, repo_key: str, score: float) -> SearchHit:
    return SearchHit(
        repo=repo_key,
        format=doc.format,
        name=doc.name,
        display_name=doc.display_name,
        version=doc.version,
        summary=doc.summary,
        description=doc.description,
        keywords=tuple(doc.keywords.split()),
        published_at=doc.published_at,
        score=score,
    )


def hit_to_json(hit: SearchHit, description_limit: int = 500) -> dict[str, Any]:
    return {
        "repo": hit.repo,
        "format": hit.format,
        "name": hit.name,
        "display_name": hit.display_name,
        "version": hit.version,
        "summary": hit.summary,
        "description": hit.description[:description_limit],
        "keywords": list(hit.keywords),
        "published_at": hit.published_at.isoformat() if hit.published_at else None,
        "score": hit.score,
    }
