"""Remote and virtual repositories: what their pages list and where their files come from.

A remote lists what its upstream's page lists (:mod:`artifortress_pypi.remote`).
A virtual merges the pages of its members, in order: for a project, only the
members ``gateway.sources()`` names (the core's dependency-confusion guard: a
name a hosted member publishes comes from hosted members only), the first
member listing a filename wins; its root lists the projects of every member
the caller may read. A hosted member's page is its stored PEP 691 rendering,
read back. A file under a virtual's URL comes from the first of those members
that holds it (a remote's: fetched if need be). A member whose upstream is
down, with no copy at hand, is passed over while others can answer.

Pages of remote and virtual repositories are not stored renderings (an upstream
page changes without the repository changing, so a stored rendering could not
tell it is stale): each request finds what its members serve (the guard, the
members it may read, each member's current rendering or upstream fetch), and
the page built from exactly those is kept per process under their names, so
it is built once per change of any of them. Their ETag is their content's
digest and their ``Last-Modified`` the latest change of what they merge, so
clients still get 304s.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TypeVar

import falcon

from artifortress.plugin import (
    REMOTE,
    ArtifortressError,
    Gateway,
    NotFound,
    RecentCache,
    Rendered,
    RepoInfo,
    UpstreamUnavailable,
)
from artifortress_pypi import hosted, listings, remote, simple
from artifortress_pypi.listings import FILES_KEPT, Listing, merged
from artifortress_pypi.names import normalize
from artifortress_pypi.protocol import translated
from artifortress_pypi.upstream_pages import parse_page

#: ``Last-Modified`` of a root page with nothing in it.
_NEVER = datetime(2000, 1, 1, tzinfo=UTC)

T = TypeVar("T")

#: Hosted members' pages as read back, per stored rendering (its ETag digests its bytes).
_HOSTED: RecentCache[Listing] = RecentCache(lambda listing: len(listing.files), FILES_KEPT)
#: Bytes of merged pages each process keeps (:func:`project_page`).
PAGE_BYTES_KEPT = 32 * 1024**2
_PAGES: RecentCache[Rendered] = RecentCache(lambda page: len(page.body), PAGE_BYTES_KEPT)
#: What names a member's listing: a hosted rendering (id, name, ETag, change) or an upstream fetch.
Source = tuple[object, ...]


def project_listing(gateway: Gateway, repo: RepoInfo, name: str) -> Listing:
    """What a remote or virtual *repo* lists for project *name*; NotFound if nothing."""
    return merged(listing for _source, listing in _member_listings(gateway, repo, name))


def project_page(gateway: Gateway, repo: RepoInfo, name: str, media_type: str) -> Rendered:
    """Project *name*'s page in remote or virtual *repo*, in *media_type*; NotFound if none.

    Built once per state of what it merges: kept per process under the
    members' sources (each named by its stored rendering or upstream fetch),
    so a publish to a member or a new upstream fetch builds it anew, and
    callers who may read other members never share it.
    """
    found = _member_listings(gateway, repo, name)
    key = (repo.id, name, media_type, *(source for source, _listing in found))
    page = _PAGES.get(key)
    if page is None:
        listing = merged(listing for _source, listing in found)
        built = listings.page_of(name, listing)
        if media_type == simple.JSON:
            body = simple.render_project_json(built)
        else:
            body = simple.render_project_html(built)
        page = rendering(body, media_type, listing.changed_at)
        _PAGES.put(key, page)
    return page


def _member_listings(gateway: Gateway, repo: RepoInfo, name: str) -> list[tuple[Source, Listing]]:
    """Each serving member's listing with what names it, in order; NotFound if none has *name*."""
    found = list(answers(gateway.sources(repo, name), lambda m: _member_listing(gateway, m, name)))
    if not found:
        raise NotFound(f"no project {name!r} in {repo.key}")
    return found


def _member_listing(gateway: Gateway, member: RepoInfo, name: str) -> tuple[Source, Listing]:
    if member.kind == REMOTE:
        fetch, (_page, upstream) = remote.upstream_read(gateway, member, name)
        return fetch, upstream
    stored = hosted.project_page(gateway, member, name, simple.JSON)
    key = (member.id, name, stored.etag)
    listing = _HOSTED.get(key)
    if listing is None:
        with translated():
            page = parse_page(stored.body, simple.JSON, "")  # relative URLs stay relative
        listing = Listing(page.files, page.versions or (), stored.last_modified)
        _HOSTED.put(key, listing)
    changed_at = stored.last_modified
    return (*key, changed_at), dataclasses.replace(listing, changed_at=changed_at)


def index_projects(gateway: Gateway, repo: RepoInfo) -> tuple[list[tuple[str, str]], datetime]:
    """A virtual's root: (display, normalized) names of its readable members' projects.

    A remote member lists the projects it holds, not its upstream's (PyPI has
    600,000): a project shows once a client asked for it through the gateway.
    """
    projects: dict[str, str] = {}
    changed = [_NEVER]
    for member in gateway.members(repo):
        stored = hosted.index_page(gateway, member, simple.JSON)
        for entry in json.loads(stored.body)["projects"]:
            projects.setdefault(normalize(entry["name"]), entry["name"])
        changed.append(stored.last_modified)
    names = sorted(projects.items())
    return [(display, normalized) for normalized, display in names], max(changed)


def send_file(
    gateway: Gateway,
    resp: falcon.Response,
    repo: RepoInfo,
    name: str,
    version: str,
    filename: str,
) -> None:
    """Answer with *filename* from the first member of remote or virtual *repo* holding it."""

    def send(member: RepoInfo) -> bool:
        _send_from(gateway, resp, member, name, version, filename)
        return True

    if not any(answers(gateway.sources(repo, name), send)):
        raise NotFound(f"no file {filename} of {name} {version} in {repo.key}")


def _send_from(
    gateway: Gateway,
    resp: falcon.Response,
    member: RepoInfo,
    name: str,
    version: str,
    filename: str,
) -> None:
    if member.kind == REMOTE:
        try:
            gateway.send_artifact(resp, member, name, version, filename)
        except NotFound:  # not fetched yet (or purged): from upstream, as it arrives
            remote.send(gateway, resp, member, name, version, filename)
        return
    gateway.send_artifact(resp, member, name, version, filename)


def answers(members: list[RepoInfo], ask: Callable[[RepoInfo], T]) -> Iterator[T]:
    """What each member answers, in order; members that have nothing are passed over.

    A member whose upstream is unavailable is passed over too, unless no
    member answers at all: then its error (502) says why, not a 404.
    """
    unavailable: ArtifortressError | None = None
    answered = False
    for member in members:
        try:
            answer = ask(member)
        except NotFound:
            continue
        except UpstreamUnavailable as exc:
            unavailable = unavailable or exc
            continue
        answered = True
        yield answer
    if not answered and unavailable is not None:
        raise unavailable


def rendering(body: bytes, content_type: str, changed_at: datetime) -> Rendered:
    """A page built for this request (not stored), with validators as stored ones have."""
    digest = hashlib.sha256(content_type.encode() + b"\0" + body).hexdigest()[:32]
    return Rendered(body, content_type, f'"{digest}"', changed_at)
