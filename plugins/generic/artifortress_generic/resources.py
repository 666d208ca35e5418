"""``/generic/{repo}/{path}``: PUT, GET, HEAD and DELETE of files; listings of directories.

GET serves hosted, remote and virtual repositories alike (:mod:`.sources`).
"""

from __future__ import annotations

import falcon

from artifortress.plugin import (
    Conflict,
    Gateway,
    NewFile,
    NotFound,
    Permission,
    RepoInfo,
    VersionInfo,
    requires,
)
from artifortress_generic import checksums, listing
from artifortress_generic.paths import GenericPath, file_path, split
from artifortress_generic.sources import media_type, send, stored_digest


class FileResource:
    """One file of a generic repository (or, with a trailing slash, a directory).

    The root ``/generic/{repo}/`` has no ``path``: it lists, and a PUT or DELETE
    there is refused like any path that names no file (it used to be a 500).
    """

    @requires(Permission.WRITE, action="version.publish", publishes=True)
    def on_put(self, req: falcon.Request, resp: falcon.Response, repo: str, path: str = "") -> None:
        """Upload a file; X-Checksum-Sha256/-Sha1/-Md5 are verified; 409 over an existing path."""
        gateway = Gateway(req)
        where = gateway.upload_target(gateway.repo)  # a virtual's: its hosted member
        target = file_path(path)
        expected = checksums.declared({h: req.get_header(h) for h in checksums.HEADERS})
        existing = stored_digest(gateway, where, target)
        if existing is not None and "sha256" in expected and existing != _digest(expected):
            raise Conflict(f"{path} already exists; published files never change")
        blob = gateway.ingest(
            where,
            checksums.verified(gateway.request_body(), expected),
            digest=_digest(expected) if "sha256" in expected else None,
            size=req.content_length,
        )
        if existing is not None:
            if blob.digest != existing:
                raise Conflict(f"{path} already exists with other bytes; files never change")
            resp.media = {"path": path, "digest": blob.digest, "size": blob.size, "created": False}
            return  # an identical re-upload is a success: clients retry
        new = NewFile(target.filename, blob, media_type(target.filename))
        if not _publish(gateway, where, target, new):
            resp.media = {"path": path, "digest": blob.digest, "size": blob.size, "created": False}
            return  # a concurrent upload of the same bytes got there first: as a retry
        resp.status = falcon.HTTP_201
        resp.location = req.path
        resp.media = {"path": path, "digest": blob.digest, "size": blob.size, "created": True}

    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, path: str = "") -> None:
        """Download a file (ranges, ETag, 304), or list a directory when the path ends in '/'.

        A remote repository fetches the file from its upstream on first request;
        a virtual one serves it from its first member (in order) that has it.
        """
        gateway = Gateway(req)
        if path == "" or path.endswith("/"):
            _send_listing(req, resp, gateway, gateway.repo, path)
            return
        if not send(gateway, resp, gateway.repo, file_path(path)):
            raise NotFound(f"no file {path} in {repo}")

    @requires(Permission.WRITE, action="version.delete")
    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, repo: str, path: str = ""
    ) -> None:
        """Delete a version (``pkg/ver/``) or its only file, tombstone-first."""
        gateway = Gateway(req)
        where = gateway.repo
        segments = split(path.rstrip("/"))
        if len(segments) < 2:
            raise NotFound("DELETE takes a version (pkg/ver/) or a file of it")
        version = gateway.version(where, segments[0], segments[1])
        if version is None:
            raise NotFound(f"no version {segments[1]!r} of {segments[0]!r} in {repo}")
        if len(segments) > 2:
            _check_only_file(version, "/".join(segments[2:]))
        gateway.delete_version(where, segments[0], segments[1])
        resp.media = {"deleted": f"{segments[0]}/{segments[1]}"}


def _digest(expected: dict[str, str]) -> str:
    return f"sha256:{expected['sha256']}"


def _publish(gateway: Gateway, repo: RepoInfo, target: GenericPath, new: NewFile) -> bool:
    """Publish the file; False if a concurrent upload published the same bytes first.

    Identical uploads racing each other must all succeed, as retries do:
    after losing the race, the committed winner decides (other bytes: 409).
    """
    try:
        _publish_or_append(gateway, repo, target, new)
    except Conflict:
        if stored_digest(gateway, repo, target) != new.blob.digest:
            raise
        return False
    return True


def _publish_or_append(gateway: Gateway, repo: RepoInfo, target: GenericPath, new: NewFile) -> None:
    """A new version for the first file, an added file for the next ones."""
    if gateway.version(repo, target.package, target.version) is None:
        try:
            gateway.publish(repo, target.package, target.version, [new])
            return
        except Conflict:
            pass  # another upload created the version meanwhile: add to it
    gateway.append_files(repo, target.package, target.version, [new])


def _check_only_file(version: VersionInfo, filename: str) -> None:
    if version.artifact(filename) is None:
        raise NotFound(f"no file {filename!r} in {version.package}/{version.version}")
    if len(version.artifacts) > 1:
        raise Conflict(
            "published files never change one by one; delete the whole version with "
            f"DELETE .../{version.package}/{version.version}/"
        )


def _send_listing(
    req: falcon.Request, resp: falcon.Response, gateway: Gateway, repo: RepoInfo, path: str
) -> None:
    """A directory of the repository (of a remote: what it has cached; a virtual: its members').

    Inside a package, a virtual lists the members that serve it (``Gateway.sources``):
    never a remote's cached paths of a package a hosted member has.
    """
    segments = split(path.rstrip("/")) if path.strip("/") else []
    members = gateway.sources(repo, segments[0]) if segments else gateway.members(repo)
    if segments and not members:
        raise NotFound(f"no package {segments[0]!r} in {repo.key}")
    names, cursor = listing.page(
        listing.merged(gateway, members, segments),
        req.get_param("cursor"),
        req.get_param_as_int("limit"),
    )
    if req.client_prefers(["application/json", "text/html"]) == "text/html":
        resp.content_type = falcon.MEDIA_HTML
        resp.data = listing.as_html(path, names)
    else:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = listing.as_json(path, names, cursor)
