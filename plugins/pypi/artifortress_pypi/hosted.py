"""A hosted repository's simple pages: stored renderings, rebuilt only after a change."""

from __future__ import annotations

from artifortress.plugin import Gateway, NotFound, Rendered, RepoInfo
from artifortress_pypi import listings, simple

#: Relative URLs keep simple pages valid behind any proxy or public URL.
FILES_FROM_PROJECT = "../../files/"


def project_page(gateway: Gateway, repo: RepoInfo, name: str, media_type: str) -> Rendered:
    """Project *name*'s page in *media_type*; NotFound when it has no published version."""

    def build() -> bytes:
        versions = gateway.versions(repo, name)
        if not versions:
            raise NotFound(f"no project {name!r} in {repo.key}")
        page = listings.project_page(name, versions, FILES_FROM_PROJECT)
        if media_type == simple.JSON:
            return simple.render_project_json(page)
        return simple.render_project_html(page)

    key = f"simple:{name}:{media_type}"
    return gateway.rendered(repo, key, package=name, content_type=media_type, build=build)


def index_page(gateway: Gateway, repo: RepoInfo, media_type: str) -> Rendered:
    """The root page: every project of *repo* with a published version."""

    def build() -> bytes:
        projects = [(p.display_name, p.name) for p in gateway.packages(repo)]
        if media_type == simple.JSON:
            return simple.render_index_json(projects)
        return simple.render_index_html(projects)

    key = f"simple:{media_type}"
    return gateway.rendered(repo, key, package=None, content_type=media_type, build=build)
