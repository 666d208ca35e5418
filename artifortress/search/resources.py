"""``GET /v1/search``: packages across the repositories the caller may read."""

from __future__ import annotations

import falcon

from artifortress.errors import BadRequest
from artifortress.http.body import query_param, reject_nul_params, send_json
from artifortress.http.permissions import public
from artifortress.search.services import hit_to_json, search

MAX_QUERY = 256
MAX_PER_PAGE = 100


class SearchResource:
    @public
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Search the packages the caller may read, best matches first.

        ``q``: words (each also matches as a prefix); ``format``, ``repo``:
        filters; ``page`` (from 1) and ``per_page`` (at most 100).  Anonymous
        callers see public repositories only.  503 while the index is unusable.
        """
        reject_nul_params(req, {})
        ctx = req.context
        q = (req.get_param("q") or "").strip()
        if len(q) > MAX_QUERY:
            raise BadRequest(f"q is longer than {MAX_QUERY} characters")
        page = _or(query_param(req, "page", int), 1)
        per_page = _or(query_param(req, "per_page", int), 20)
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise BadRequest(f"page must be at least 1 and per_page between 1 and {MAX_PER_PAGE}")
        results = search(
            ctx.db,
            ctx.principal,
            q,
            format=req.get_param("format") or None,
            repo=req.get_param("repo") or None,
            offset=(page - 1) * per_page,
            limit=per_page,
        )
        send_json(
            resp,
            {
                "query": q,
                "page": page,
                "per_page": per_page,
                "total": results.total,
                "results": [hit_to_json(hit) for hit in results.hits],
            },
        )


def _or(value: int | None, default: int) -> int:
    return default if value is None else value
