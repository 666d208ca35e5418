"""Where a generic file is read from: the repository, its upstream, or a virtual's members.

A remote repository fetches ``{upstream URL}{path}`` on first request (the
upstream URL is a base: it ends in ``/``, as links resolve) and keeps it as
the file ``{file}`` of version ``{version}`` of package ``{package}``, like an
upload of that path; the request that fetches it gets the bytes as they
arrive (``Gateway.send_upstream_file``). Generic upstreams have no metadata announcing a
checksum: the engine verifies the digest the file's response declares
(``X-Checksum-Sha256``, ``Content-Digest``, ``Digest``) if it has one, and
otherwise stores what arrived in full (a body cut short is never kept) under
the sha256 it computed: then the file's integrity rests on TLS to the upstream.
A virtual repository serves the first of its members, in order, that the
caller may read and that has the file (a remote member: that its upstream has),
among those ``gateway.sources()`` names for the package: a package a hosted
member has is served by hosted members only, so no upstream can add a path
(another version, another file) under a private package's name.
"""

from __future__ import annotations

import mimetypes
from urllib.parse import quote

import falcon

from artifortress.plugin import (
    REMOTE,
    ArtifortressError,
    Gateway,
    NotFound,
    RepoInfo,
    UpstreamMismatch,
    UpstreamUnavailable,
)
from artifortress_generic.paths import GenericPath


def stored_digest(gateway: Gateway, repo: RepoInfo, target: GenericPath) -> str | None:
    """The digest of the file *repo* holds at *target*, if it holds one."""
    version = gateway.version(repo, target.package, target.version)
    artifact = version.artifact(target.filename) if version is not None else None
    return artifact.digest if artifact is not None else None


def send(gateway: Gateway, resp: falcon.Response, repo: RepoInfo, target: GenericPath) -> bool:
    """Answer with the file from the first source of its package that has it; ``False`` if none.

    An upstream failing is passed on only if no later member has the file.
    """
    failure: ArtifortressError | None = None
    for member in gateway.sources(repo, target.package):
        try:
            if _send_from(gateway, resp, member, target):
                return True
        except (UpstreamUnavailable, UpstreamMismatch) as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
    return False


def media_type(filename: str) -> str:
    guessed, _encoding = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def _send_from(
    gateway: Gateway, resp: falcon.Response, member: RepoInfo, target: GenericPath
) -> bool:
    kind = media_type(target.filename)
    if member.kind == REMOTE:
        path = f"{target.package}/{target.version}/{target.filename}"
        try:
            gateway.send_upstream_file(
                resp,
                member,
                quote(path),
                package=target.package,
                version=target.version,
                filename=target.filename,
                media_type=kind,
            )
        except NotFound:
            return False
        return True
    try:  # one lookup of the published file: no version loaded
        gateway.send_artifact(
            resp, member, target.package, target.version, target.filename, media_type=kind
        )
    except NotFound:
        return False
    return True
