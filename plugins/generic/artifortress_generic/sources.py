"""Where a generic file is read from: the repository, its upstream, or a virtual's members.

A remote repository fetches ``{upstream URL}{path}`` on first request (the
upstream URL is a base: it ends in ``/``, as links resolve) and keeps it as
the file ``{file}`` of version ``{version}`` of package ``{package}``, like an
upload of that path. Generic upstreams announce no checksum, so the engine
stores what arrived in full (a body cut short is never kept) under the
sha256 it computed: the file's integrity rests on TLS to the upstream.
A virtual repository serves the first of its members, in order, that the
caller may read and that has the file (a remote member: that its upstream has).
"""

from __future__ import annotations

import mimetypes
from urllib.parse import quote

from artifortress.plugin import (
    ArtifortressError,
    Gateway,
    NotFound,
    RepoInfo,
    UpstreamMismatch,
    UpstreamUnavailable,
)
from artifortress_generic.paths import GenericPath

REMOTE = "remote"


def stored_digest(gateway: Gateway, repo: RepoInfo, target: GenericPath) -> str | None:
    """The digest of the file *repo* holds at *target*, if it holds one."""
    version = gateway.version(repo, target.package, target.version)
    artifact = version.artifact(target.filename) if version is not None else None
    return artifact.digest if artifact is not None else None


def locate(gateway: Gateway, repo: RepoInfo, target: GenericPath) -> tuple[RepoInfo, str] | None:
    """The member holding *target* (fetched if a remote's upstream has it) and its digest.

    An upstream failing is passed on only if no later member has the file.
    """
    failure: ArtifortressError | None = None
    for member in gateway.members(repo):
        try:
            digest = _digest_in(gateway, member, target)
        except (UpstreamUnavailable, UpstreamMismatch) as exc:
            failure = failure or exc
            continue
        if digest is not None:
            return member, digest
    if failure is not None:
        raise failure
    return None


def media_type(filename: str) -> str:
    guessed, _encoding = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def _digest_in(gateway: Gateway, member: RepoInfo, target: GenericPath) -> str | None:
    if member.kind != REMOTE:
        return stored_digest(gateway, member, target)
    path = f"{target.package}/{target.version}/{target.filename}"
    try:
        version = gateway.upstream_file(
            member,
            quote(path),
            package=target.package,
            version=target.version,
            filename=target.filename,
            media_type=media_type(target.filename),
        )
    except NotFound:
        return None
    artifact = version.artifact(target.filename)
    return artifact.digest if artifact is not None else None
