"""The simple repository API (PEP 503/691) and the PyPI JSON API, served from stored renderings."""

from __future__ import annotations

import falcon

from artifortress.plugin import Gateway, NotFound, Permission, RepoInfo, requires
from artifortress_pypi import listings, pypi_json, simple
from artifortress_pypi.names import is_valid_project_name, normalize

#: Relative URLs keep simple pages valid behind any proxy or public URL.
FILES_FROM_PROJECT = "../../files/"


def _media_type(req: falcon.Request) -> str:
    chosen = simple.negotiate(req.get_header("Accept"))
    if chosen is None:
        raise falcon.HTTPNotAcceptable(description="acceptable: " + ", ".join(simple.MEDIA_TYPES))
    return chosen


class IndexResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str) -> None:
        """The root index: every project with a published version."""
        gateway = Gateway(req)
        media_type = _media_type(req)

        def build() -> bytes:
            projects = [(p.display_name, p.name) for p in gateway.packages(gateway.repo)]
            if media_type == simple.JSON:
                return simple.render_index_json(projects)
            return simple.render_index_html(projects)

        doc = gateway.rendered(
            gateway.repo, f"simple:{media_type}", package=None, content_type=media_type, build=build
        )
        gateway.send_rendered(resp, doc)


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

        def build() -> bytes:
            versions = gateway.versions(where, name)
            if not versions:
                raise NotFound(f"no project {name!r} in {repo}")
            page = listings.project_page(name, versions, FILES_FROM_PROJECT)
            if media_type == simple.JSON:
                return simple.render_project_json(page)
            return simple.render_project_html(page)

        doc = gateway.rendered(
            where, f"simple:{name}:{media_type}", package=name, content_type=media_type, build=build
        )
        gateway.send_rendered(resp, doc)


class JsonProjectResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, project: str) -> None:
        """``/pypi/<name>/json`` for poetry and Dependabot."""
        gateway = Gateway(req)
        name = normalize(project)
        releases = _releases(gateway, gateway.repo, name, _absolute_files_url(gateway, repo))
        latest = pypi_json.latest_version(releases)
        if latest is None:
            raise NotFound(f"no project {name!r} in {repo}")
        resp.content_type = falcon.MEDIA_JSON
        resp.data = pypi_json.render_project(name, latest, releases)


class JsonReleaseResource:
    @requires(Permission.READ)
    def on_get(
        self, req: falcon.Request, resp: falcon.Response, repo: str, project: str, version: str
    ) -> None:
        """``/pypi/<name>/<version>/json``."""
        gateway = Gateway(req)
        name = normalize(project)
        found = gateway.version(gateway.repo, name, version)
        if found is None:
            raise NotFound(f"no version {version!r} of {name!r} in {repo}")
        resp.content_type = falcon.MEDIA_JSON
        release = listings.release(found, _absolute_files_url(gateway, repo))
        resp.data = pypi_json.render_release(name, release)


def _absolute_files_url(gateway: Gateway, repo: str) -> str:
    """The JSON API's consumers (poetry, Dependabot) expect absolute URLs, as on PyPI."""
    return gateway.public_url(f"pypi/{repo}/files/")


def _releases(
    gateway: Gateway, repo: RepoInfo, name: str, files_url: str
) -> list[pypi_json.Release]:
    return [listings.release(v, files_url) for v in gateway.versions(repo, name)]
