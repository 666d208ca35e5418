"""The simple repository API (PEP 503/691) and the PyPI JSON API, served from stored renderings."""

from __future__ import annotations

import falcon

from artifortress.plugin import HOSTED, VIRTUAL, Gateway, NotFound, Permission, RepoInfo, requires
from artifortress_pypi import hosted, listings, members, pypi_json, releases, simple
from artifortress_pypi.names import is_valid_project_name, normalize


def _media_type(req: falcon.Request) -> str:
    chosen = simple.negotiate(req.get_header("Accept"))
    if chosen is None:
        raise falcon.HTTPNotAcceptable(description="acceptable: " + ", ".join(simple.MEDIA_TYPES))
    return chosen


class IndexResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """The root index: every project with a published version (a virtual: its members')."""
        gateway = Gateway(req)
        media_type = _media_type(req)
        where = gateway.repo
        if where.kind != VIRTUAL:  # a remote lists the projects it holds
            gateway.send_rendered(resp, hosted.index_page(gateway, where, media_type))
            return
        projects, changed_at = members.index_projects(gateway, where)
        if media_type == simple.JSON:
            body = simple.render_index_json(projects)
        else:
            body = simple.render_index_html(projects)
        gateway.send_rendered(resp, members.rendering(body, media_type, changed_at))


class ProjectResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, project: str) -> None:
        """A project's files; other spellings of its name redirect to the normalized one."""
        if not is_valid_project_name(project):
            # No such project can exist; redirecting would echo the text into Location.
            raise NotFound(f"no project {project!r} in {repo}")
        name = normalize(project)
        if name != project or not req.path.endswith("/"):
            # The name is plain ASCII now; the repository key was matched, so is safe too.
            raise falcon.HTTPMovedPermanently(f"{req.prefix}/pypi/{repo}/simple/{name}/")
        gateway = Gateway(req)
        media_type = _media_type(req)
        where = gateway.repo
        if where.kind == HOSTED:
            gateway.send_rendered(resp, hosted.project_page(gateway, where, name, media_type))
            return
        gateway.send_rendered(resp, members.project_page(gateway, where, name, media_type))


class JsonProjectResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, project: str) -> None:
        """``/pypi/<name>/json`` for poetry, Renovate and Dependabot (remote, virtual: merged)."""
        gateway = Gateway(req)
        name = _project_name(project, repo)
        found = releases.releases(gateway, gateway.repo, name, _absolute_files_url(gateway, repo))
        latest = pypi_json.latest_version(found)
        if latest is None:
            raise NotFound(f"no project {name!r} in {repo}")
        resp.content_type = falcon.MEDIA_JSON
        resp.data = pypi_json.render_project(name, latest, found)


class JsonReleaseResource:
    @requires(Permission.READ)
    def on_get(
        self, req: falcon.Request, resp: falcon.Response, repo: str, project: str, version: str
    ) -> None:
        """``/pypi/<name>/<version>/json``."""
        gateway = Gateway(req)
        name = _project_name(project, repo)
        release = _release(gateway, gateway.repo, name, version, _absolute_files_url(gateway, repo))
        if release is None:
            raise NotFound(f"no version {version!r} of {name!r} in {repo}")
        resp.content_type = falcon.MEDIA_JSON
        resp.data = pypi_json.render_release(name, release)


def _project_name(project: str, repo: str) -> str:
    """*project* normalized; NotFound for a name no project can have (never asked upstream)."""
    if not is_valid_project_name(project):
        raise NotFound(f"no project {project!r} in {repo}")
    return normalize(project)


def _release(
    gateway: Gateway, repo: RepoInfo, name: str, version: str, files_url: str
) -> pypi_json.Release | None:
    """One release; a hosted repository's is one lookup, others' come from their pages."""
    if repo.kind != HOSTED:
        return releases.release_of(releases.releases(gateway, repo, name, files_url), version)
    found = gateway.version(repo, name, version)
    return listings.release(found, files_url) if found is not None else None


def _absolute_files_url(gateway: Gateway, repo: str) -> str:
    """The JSON API's consumers (poetry, Dependabot) expect absolute URLs, as on PyPI."""
    return gateway.public_url(f"pypi/{repo}/files/")
