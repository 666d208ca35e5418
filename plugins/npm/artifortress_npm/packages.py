"""Package URLs: ``/{name}`` (packument), ``/{name}/{version|tag}``, tarballs, unpublish.

A hosted repository's packuments are built once per change and stored (both
the full and the abbreviated form, with different ETags), never rebuilt or
copied per request. Remote and virtual repositories serve packuments and
tarballs from their upstream and members through :mod:`artifortress_npm.proxy`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict

import falcon

from artifortress.plugin import HOSTED, Gateway, NotFound, Permission, Rendered, RepoInfo, requires
from artifortress_npm import proxy, stored
from artifortress_npm.names import parse_target, split_path, version_from_tarball_filename
from artifortress_npm.packument import (
    BASE_PLACEHOLDER,
    FULL_MEDIA_TYPE,
    build_packument,
    dumps,
    resolve_spec,
    version_json,
    wants_abbreviated,
)
from artifortress_npm.protocol import translated
from artifortress_npm.publishing import put_package


def registry_base(gateway: Gateway, repo: str) -> str:
    return gateway.public_url(f"npm/{repo}")


def _hosted(repo: RepoInfo) -> bool:
    """Whether *repo* holds its packages (remote and virtual ones serve others')."""
    return repo.kind == HOSTED


class PackageResource:
    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, path: str) -> None:
        """Packument, one version's manifest, or a tarball."""
        gateway = Gateway(req)
        with translated():
            npm_path = split_path(path)
            target = parse_target(npm_path.rest)
        if target.kind == "packument":
            _send_packument(req, resp, gateway, npm_path.name, repo)
        elif target.kind == "spec":
            resp.content_type = falcon.MEDIA_JSON
            resp.data = _version_document(gateway, npm_path.name, target.spec or "", repo)
        elif target.kind == "tarball" and not _hosted(gateway.repo):
            proxy.send_proxied_tarball(
                resp, gateway, gateway.repo, npm_path.name, target.filename or ""
            )
        elif target.kind == "tarball":
            _send_tarball(resp, gateway, npm_path.name, target.filename or "")
        else:
            raise NotFound("not found")

    @requires(Permission.WRITE, action="version.publish", publishes=True)
    def on_put(self, req: falcon.Request, resp: falcon.Response, repo: str, path: str) -> None:
        """Publish, or update metadata (deprecate, unpublish versions, dist-tags)."""
        gateway = Gateway(req)
        with translated():
            npm_path = split_path(path)
            target = parse_target(npm_path.rest)
        if target.kind not in ("packument", "rev"):
            raise NotFound("not found")
        put_package(
            gateway,
            npm_path.name,
            with_rev=target.kind == "rev",
            limit=gateway.max_package_upload,
        )
        resp.status = falcon.HTTP_201 if target.kind == "packument" else falcon.HTTP_200
        resp.media = {"ok": True, "id": npm_path.name}

    @requires(Permission.WRITE, action="version.delete")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, repo: str, path: str) -> None:
        """Unpublish: a tarball (one version) or the whole package (``/{name}/-rev/{rev}``)."""
        gateway = Gateway(req)
        with translated():
            npm_path = split_path(path)
            target = parse_target(npm_path.rest)
        name = npm_path.name
        if target.kind == "tarball":
            version = version_from_tarball_filename(name, target.filename or "")
            if version is not None and gateway.version(gateway.repo, name, version) is not None:
                gateway.delete_version(gateway.repo, name, version)  # usually gone already
        elif target.kind == "rev":
            _unpublish_all(gateway, gateway.repo, name)
        else:
            raise NotFound("not found")
        resp.media = {"ok": True}


def _send_packument(
    req: falcon.Request, resp: falcon.Response, gateway: Gateway, name: str, repo: str
) -> None:
    base = registry_base(gateway, repo)
    hosted = _hosted(gateway.repo)
    if req.get_param("write") == "true" and hosted:  # the unpublish/deprecate flow wants it fresh
        resp.content_type = FULL_MEDIA_TYPE
        resp.data = build_packument(
            stored.package_state(gateway, gateway.repo, name), base
        ).full.body
        return
    abbreviated = wants_abbreviated(req.get_header("Accept"))
    if hosted:
        doc = stored.stored_packument(gateway, gateway.repo, name, abbreviated=abbreviated)
    else:
        doc = proxy.proxied_packument(gateway, gateway.repo, name, abbreviated=abbreviated)
    gateway.send_rendered(resp, with_base(doc, base))


def _version_document(gateway: Gateway, name: str, spec: str, repo: str) -> bytes:
    """``GET /{name}/{version|tag}``: one version's document."""
    base = registry_base(gateway, repo)
    if _hosted(gateway.repo):
        state = stored.package_state(gateway, gateway.repo, name)
        version = resolve_spec(state, spec)
        if version is None:
            raise NotFound(f"version {spec} of {name} not found")
        return version_json(state, version, base)
    document = proxy.proxied_document(gateway, gateway.repo, name, base)
    number = document["dist-tags"].get(spec, spec)
    found = document["versions"].get(number)
    if not isinstance(found, dict):
        raise NotFound(f"version {spec} of {name} not found")
    return dumps(found)


class _Rebased:
    """The last packuments with their base filled in, per process.

    Filling in is a pass over the whole body (half a megabyte for 500
    versions) that every install of a popular package would otherwise repeat.
    Keyed by the stored rendering's ETag and change time (which name its
    content) and the base; bounded by count (a client picks the Host) and by
    bytes. The count is far above an install's dependency tree (express 4:
    71 packages, each asked once): a smaller LRU would miss every one.
    """

    def __init__(self, size: int, max_bytes: int) -> None:
        self._size = size
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[tuple[str, float, str], Rendered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, doc: Rendered, base: str) -> Rendered:
        key = (doc.etag, doc.last_modified.timestamp(), base)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        found = _fill_base(doc, base)
        if len(found.body) > self._max_bytes // 4:
            return found  # one huge packument must not flush everything else
        with self._lock:
            replaced = self._entries.pop(key, None)
            self._bytes += len(found.body) - (len(replaced.body) if replaced is not None else 0)
            self._entries[key] = found
            while len(self._entries) > self._size or self._bytes > self._max_bytes:
                _key, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body)
        return found


_REBASED = _Rebased(size=1024, max_bytes=32 * 1024 * 1024)


def with_base(doc: Rendered, base: str) -> Rendered:
    """The stored packument with its tarball URLs under *base* (and an ETag of its own)."""
    return _REBASED.get(doc, base)


def _fill_base(doc: Rendered, base: str) -> Rendered:
    # The ETag also names the front proxy's file of this body: a short tag would let a
    # client-chosen base collide with the real one.
    tag = hashlib.sha256(base.encode()).hexdigest()[:32]
    body = doc.body.replace(BASE_PLACEHOLDER.encode(), base.rstrip("/").encode())
    return dataclasses.replace(doc, body=body, etag=f'{doc.etag[:-1]}-{tag}"')


def _send_tarball(resp: falcon.Response, gateway: Gateway, name: str, filename: str) -> None:
    version = version_from_tarball_filename(name, filename)
    if version is None:
        raise NotFound(f"tarball {filename} not found")
    gateway.send_artifact(
        resp,
        gateway.repo,
        name,
        version,
        filename,
        media_type="application/octet-stream",
        as_attachment=False,
    )


def _unpublish_all(gateway: Gateway, repo: RepoInfo, name: str) -> None:
    """Tombstone every live version; the numbers stay used forever."""
    versions = gateway.versions(repo, name)
    if not versions:
        raise NotFound(f"package {name} not found")
    for tag in gateway.labels(repo, name):
        gateway.delete_label(repo, name, tag)
    for version in versions:
        gateway.delete_version(repo, name, version.version)
