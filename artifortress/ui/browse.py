"""Reading pages: home, search, a repository's packages, a package."""

from __future__ import annotations

from typing import Any

import falcon

from artifortress.blobs.digests import parse_digest
from artifortress.blobs.download import Presentation, send_blob
from artifortress.blobs.services import find_linked_blob
from artifortress.errors import BadRequest, NotFound
from artifortress.formats import normalize_name
from artifortress.http.permissions import public, requires
from artifortress.rbac.permissions import Permission
from artifortress.repos.kinds import HOSTED, VIRTUAL
from artifortress.repos.services import list_readable, repo_detail_json
from artifortress.search.services import search
from artifortress.ui import queries
from artifortress.ui.assets import LONG_CACHE
from artifortress.ui.manage import NOTICES as VERSION_NOTICES
from artifortress.ui.package_view import package_view
from artifortress.ui.view import view_of
from artifortress.versions.queries import is_withheld

PACKAGES_PER_PAGE = 50
RESULTS_PER_PAGE = 20
MAX_QUERY = 256
#: The home page lists this many repositories (a tenant with more filters by search).
HOME_REPOS = 200


def _text_param(req: falcon.Request, name: str, limit: int = MAX_QUERY) -> str:
    value = (req.get_param(name) or "").strip()
    if len(value) > limit or "\x00" in value:
        raise BadRequest(f"{name} is longer than {limit} characters or holds a NUL")
    return value


def _page_param(req: falcon.Request) -> int:
    raw = req.get_param("page") or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise BadRequest("page must be a number from 1 to 500")
    return int(raw)


class HomePage:
    @public
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The repositories the user may read, with their package counts, and a search box."""
        view = view_of(req)
        db = req.context.db
        repos, more = list_readable(db, view.principal, cursor=None, limit=HOME_REPOS)
        stats = queries.repo_stats(db, [repo.id for repo in repos])
        view.render("home.html", repos=repos, stats=stats, more=more is not None)


class SearchPage:
    @public
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Packages matching the words of ``q`` across every repository the user may read.

        ``format`` narrows to one installed format; the same search as ``GET /v1/search``.
        """
        view = view_of(req)
        q = _text_param(req, "q")
        page = _page_param(req)
        formats = sorted(req.context.services.formats)
        format = _text_param(req, "format", 32)
        if format and format not in formats:
            raise BadRequest(f"format is one of {', '.join(formats)}")
        results = None
        if q:
            offset = (page - 1) * RESULTS_PER_PAGE
            results = search(
                req.context.db,
                view.principal,
                q,
                format=format or None,
                offset=offset,
                limit=RESULTS_PER_PAGE,
            )
        view.render(
            "search.html",
            q=q,
            page=page,
            results=results,
            per_page=RESULTS_PER_PAGE,
            format=format,
            formats=formats,
        )


class RepoPage:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """One repository's packages by name: a page at a time, optionally by name prefix."""
        view = view_of(req)
        ctx = req.context
        ref = ctx.repo_ref
        prefix = _text_param(req, "prefix", 255).lower()
        after = _text_param(req, "after", 255) or None
        rows, next_after = queries.package_page(
            ctx.db, ref.id, prefix=prefix, after=after, limit=PACKAGES_PER_PAGE
        )
        is_admin = Permission.ADMIN in ctx.permissions
        detail: dict[str, Any] = {}
        if ref.kind != HOSTED:  # members: those the user may read, as GET /v1/repos/{repo} says
            viewer = None if is_admin else view.principal
            detail = repo_detail_json(ctx.db, ctx.repo, viewer)
        view.render(
            "repo.html",
            notice="The version was deleted." if req.get_param("notice") == "deleted" else None,
            repo=ref,
            rows=rows,
            prefix=prefix,
            after=after,
            next_after=next_after,
            members=detail.get("members", []),
            upstream=detail.get("upstream"),
            metadata_ttl=detail.get("metadata_ttl"),
            is_admin=is_admin,
        )


class PackagePage:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, name: str) -> None:
        """A package: README, versions with their badges, dist-tags, files, install commands."""
        view = view_of(req)
        ctx = req.context
        ref = ctx.repo_ref
        normalized = normalize_name(ctx.services.plugins, ref.format, name)
        package = queries.find_package(ctx.db, ref.id, normalized)
        if package is None:
            raise NotFound(f"no package {name!r} in {ref.key}")
        wanted = _text_param(req, "version", 128) or None
        with_held = Permission.ADMIN in ctx.permissions
        page = package_view(ctx.db, view.base_url(), ref, package, wanted, with_held=with_held)
        if page.current is None:  # only held or deleted versions: as if it did not exist
            raise NotFound(f"no package {name!r} in {ref.key}")
        if page.missing_version:
            raise NotFound(f"no version {page.missing_version!r} of {name!r} in {ref.key}")
        # Changes go through write on a hosted or remote repository (a virtual has none).
        can_write = Permission.WRITE in ctx.permissions and ref.kind != VIRTUAL
        notice = VERSION_NOTICES.get(req.get_param("notice") or "")
        view.render("package.html", repo=ref, page=page, can_write=can_write, notice=notice)


class FileDownload:
    @requires(Permission.READ)
    def on_get(
        self, req: falcon.Request, resp: falcon.Response, repo: str, digest: str, filename: str
    ) -> None:
        """A file of a published version, for whoever may read the repository (the session)."""
        ctx = req.context
        blob = find_linked_blob(ctx.db, ctx.repo, parse_digest(digest))
        if is_withheld(ctx.db, ctx.repo.id, blob.digest):
            raise NotFound(f"repository {ctx.repo.key!r} holds no downloadable file {blob.digest}")
        shown = Presentation(filename=filename[:255])
        send_blob(req, resp, ctx.services.blobs, blob, shown, ctx.services.handoff(blob.digest))


class StaticAsset:
    @public
    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        """A stylesheet or script under its content-hashed name, cacheable for a year."""
        asset = view_of(req).ui.assets.get(name)
        if asset is None:
            raise NotFound(f"no file {name!r}")
        resp.content_type = asset.media_type
        resp.cache_control = list(LONG_CACHE)
        resp.data = asset.data
