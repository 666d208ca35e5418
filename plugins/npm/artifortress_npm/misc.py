"""Ping, the registry root, dist-tags, search and the audit endpoints."""

from __future__ import annotations

import falcon

from artifortress.plugin import (
    HOSTED,
    VIRTUAL,
    Gateway,
    NotFound,
    Permission,
    RepoInfo,
    SearchHit,
    SearchResults,
    public,
    requires,
)
from artifortress_npm import proxy, stored
from artifortress_npm.audit import (
    audit_unavailable,
    check_bulk_request,
    check_quick_request,
    read_audit_body,
)
from artifortress_npm.dist_tags import parse_dist_tag_body, remove_dist_tag, set_dist_tag
from artifortress_npm.names import split_dist_tags_path
from artifortress_npm.protocol import translated
from artifortress_npm.publishing import sync_tags
from artifortress_npm.search import hit_from_manifest, parse_search_query, render_search

MAX_AUDIT_BODY = 16 * 1024 * 1024
#: A dist-tag body is one JSON string: a version number.
MAX_DIST_TAG_BODY = 4096


class PingResource:
    @public
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """``npm ping``."""
        resp.media = {}


class RootResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """The registry root, as CouchDB answers it (npm publish reads it first)."""
        resp.media = {"db_name": repo}


class DistTagsResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, path: str) -> None:
        """``npm dist-tag ls``."""
        gateway = Gateway(req)
        name, _tag = self._split(path)
        if gateway.repo.kind != "hosted":  # a remote's or a virtual's: from its packument
            base = gateway.public_url(f"npm/{repo}")
            resp.media = proxy.proxied_document(gateway, gateway.repo, name, base)["dist-tags"]
            return
        state = stored.load_state(gateway, gateway.repo, name)
        if state is None:
            raise NotFound(f"package {name} not found")
        resp.media = dict(state.dist_tags)

    @requires(Permission.WRITE, action="label.set")
    def on_put(self, req: falcon.Request, resp: falcon.Response, repo: str, path: str) -> None:
        """``npm dist-tag add`` (the body is a JSON string: the version)."""
        self._change(req, resp, path, remove=False)

    on_post = on_put

    @requires(Permission.WRITE, action="label.delete")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, repo: str, path: str) -> None:
        """``npm dist-tag rm``."""
        self._change(req, resp, path, remove=True)

    @staticmethod
    def _split(path: str) -> tuple[str, str | None]:
        with translated():
            return split_dist_tags_path("/" + path)

    def _change(
        self, req: falcon.Request, resp: falcon.Response, path: str, *, remove: bool
    ) -> None:
        gateway = Gateway(req)
        name, tag = self._split(path)
        state = stored.load_state(gateway, gateway.repo, name)
        if state is None or tag is None:
            raise NotFound(f"package {name} or tag not found")
        with translated():
            if remove:
                wanted = remove_dist_tag(state, tag)
            else:
                raw = gateway.read_body(MAX_DIST_TAG_BODY)
                wanted = set_dist_tag(state, tag, parse_dist_tag_body(raw))
        sync_tags(gateway, gateway.repo, name, current=state.dist_tags, wanted=wanted)
        resp.media = wanted


class SearchResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """``npm search``: the core's search index over this registry (fed by the worker)."""
        gateway = Gateway(req)
        with translated():
            query = parse_search_query({k: str(v) for k, v in req.params.items()})
        if gateway.repo.kind == VIRTUAL:
            found = _search_members(
                gateway, gateway.repo, query.text, offset=query.offset, limit=query.size
            )
        else:
            found = gateway.search(
                query.text, repo=gateway.repo, offset=query.offset, limit=query.size
            )
        hits = [
            hit_from_manifest(
                hit.name,
                {
                    "version": hit.version,
                    "description": hit.summary,
                    "keywords": list(hit.keywords),
                },
                date=hit.published_at,
                score=hit.score,
            )
            for hit in found.hits
        ]
        resp.content_type = falcon.MEDIA_JSON
        resp.data = render_search(hits, found.total)


def _search_members(
    gateway: Gateway, repo: RepoInfo, text: str, *, offset: int, limit: int
) -> SearchResults:
    """``npm search`` in a virtual: its readable members' packages, each name once.

    A name is shown as the first hosted member holding it has it, else as the
    first member's (the order packuments are served in); hits are ordered by
    score, which is comparable across members only roughly. A remote's hit
    for a name the virtual serves from hosted members only (the
    dependency-confusion guard, ``Gateway.sources``) is never shown, also to
    a caller who may not read the hosted member.
    """
    members = sorted(gateway.members(repo), key=lambda member: member.kind != HOSTED)
    found: dict[str, SearchHit] = {}
    total = listed = 0
    for member in members:
        result = gateway.search(text, repo=member, offset=0, limit=offset + limit)
        total += result.total
        listed += len(result.hits)
        for hit in result.hits:
            if hit.name in found:
                continue
            if member.kind == HOSTED or _serves(gateway, repo, member, hit.name):
                found[hit.name] = hit
    ranked = sorted(found.values(), key=lambda hit: -hit.score)
    # Names in several members count once (exactly so when every member's list was whole).
    return SearchResults(
        hits=tuple(ranked[offset : offset + limit]), total=total - (listed - len(found))
    )


def _serves(gateway: Gateway, repo: RepoInfo, member: RepoInfo, name: str) -> bool:
    """Whether virtual *repo* serves package *name* from *member* at all."""
    return any(source.id == member.id for source in gateway.sources(repo, name))


def _manifest(hit: SearchHit) -> dict[str, object]:
    """The fields of the latest manifest that npm search shows, from the index."""
    return {"version": hit.version, "description": hit.summary, "keywords": list(hit.keywords)}


class AuditResource:
    def __init__(self, quick: bool) -> None:
        self._quick = quick

    @requires(Permission.READ)
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """``npm audit``: unavailable, as no advisories are known here (404, see audit.py)."""
        raw = Gateway(req).read_body(MAX_AUDIT_BODY)
        with translated():
            body = read_audit_body(
                raw, content_encoding=req.get_header("Content-Encoding"), max_size=MAX_AUDIT_BODY
            )
            (check_quick_request if self._quick else check_bulk_request)(body)
            raise audit_unavailable()
