"""Answering the go command's reads: the version list, ``@latest``, ``.info``, ``.mod``, ``.zip``.

A miss is a 404, a deleted version a 410: the go command takes both as "not
here" (and, with a proxy list such as ``GOPROXY=this,direct``, asks the next).
"""

from __future__ import annotations

from collections.abc import Callable

import falcon

from artifortress.plugin import ArtifortressError, Gateway, Gone, NotFound, RepoInfo, VersionInfo
from artifortress_goproxy import semver
from artifortress_goproxy.protocol import GoRequest, info, version_list

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"


def send_list(gateway: Gateway, resp: falcon.Response, wanted: GoRequest) -> None:
    """``@v/list``, stored once per change of the module."""
    where = gateway.repo

    def build() -> bytes:
        offered = _offered(gateway, where, wanted.module)
        return version_list(semver.listed(version.version for version in offered))

    doc = gateway.rendered(
        where, f"list:{wanted.module}", package=wanted.module, content_type=TEXT, build=build
    )
    gateway.send_rendered(resp, doc, vary=())


def send_latest(gateway: Gateway, resp: falcon.Response, wanted: GoRequest) -> None:
    """``@latest``: the ``.info`` of the version the go command would choose."""
    where = gateway.repo

    def build() -> bytes:
        offered = {version.version: version for version in _offered(gateway, where, wanted.module)}
        chosen = semver.latest(offered)
        if chosen is None:
            raise NotFound(f"{wanted.module} has no version to offer as @latest")
        return info(chosen, offered[chosen].published_at)

    doc = gateway.rendered(
        where, f"latest:{wanted.module}", package=wanted.module, content_type=JSON, build=build
    )
    gateway.send_rendered(resp, doc, vary=())


def send_info(gateway: Gateway, resp: falcon.Response, wanted: GoRequest) -> None:
    found = gateway.version(gateway.repo, wanted.module, wanted.version)
    if found is None:
        raise _missing(gateway, gateway.repo, wanted)
    resp.content_type = JSON
    resp.data = info(found.version, found.published_at)


def send_file(gateway: Gateway, resp: falcon.Response, wanted: GoRequest) -> None:
    """``.mod`` or ``.zip``: a stored file (ranges, ETag and 304 from the core)."""
    media_type = "application/zip" if wanted.kind == "zip" else TEXT
    try:
        gateway.send_artifact(
            resp,
            gateway.repo,
            wanted.module,
            wanted.version,
            wanted.filename(),
            media_type=media_type,
            as_attachment=False,
        )
    except NotFound:
        raise _missing(gateway, gateway.repo, wanted) from None


SENDERS: dict[str, Callable[[Gateway, falcon.Response, GoRequest], None]] = {
    "list": send_list,
    "latest": send_latest,
    "info": send_info,
    "mod": send_file,
    "zip": send_file,
}


def _offered(gateway: Gateway, where: RepoInfo, module: str) -> list[VersionInfo]:
    """The versions to offer: published and not yanked (a yanked one is still served).

    An unknown module is a 404 raised inside the build, so nothing is stored
    for the many prefixes the go command probes when it resolves an import.
    """
    versions = gateway.versions(where, module)
    if not versions:
        raise NotFound(f"unknown module {module}")
    return [version for version in versions if not version.yanked]


def _missing(gateway: Gateway, where: RepoInfo, wanted: GoRequest) -> ArtifortressError:
    states = gateway.sealed_versions(where, wanted.module, [wanted.version])
    if states.get(wanted.version) == "tombstoned":
        return Gone(f"{wanted.module}@{wanted.version} was deleted")
    return NotFound(f"unknown revision {wanted.module}@{wanted.version}")
