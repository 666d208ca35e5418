"""``PUT $module/@v/$version.zip``: a checked module zip becomes a version with its ``.mod``."""

from __future__ import annotations

import falcon

from artifortress.plugin import BlobRef, Conflict, Gateway, NewFile, RepoInfo, raised_as
from artifortress.plugin.scratch import scratch_file
from artifortress_goproxy import modpath, modzip, semver
from artifortress_goproxy.errors import GoProxyError
from artifortress_goproxy.protocol import GoRequest

CHUNK = 1024 * 1024


def publish_zip(gateway: Gateway, resp: falcon.Response, wanted: GoRequest) -> None:
    """Publish the zip and its go.mod; an identical re-upload is a 200, another zip a 409."""
    with raised_as(GoProxyError):
        version = semver.parse(wanted.version)
        modpath.check_major(wanted.module, version)
    where = gateway.repo
    with scratch_file() as path:  # a killed worker's is removed by the next to start
        with path.open("wb") as out:
            for chunk in gateway.request_body(min(modzip.MAX_ZIP, gateway.max_package_upload)):
                out.write(chunk)
        with raised_as(GoProxyError):
            go_mod = modzip.go_mod_of(path, wanted.module, version)
        with path.open("rb") as data:
            zip_blob = gateway.ingest(where, iter(lambda: data.read(CHUNK), b""))
    mod_blob = gateway.ingest(where, [go_mod])
    files = [
        NewFile(f"{version.text}.zip", zip_blob, "application/zip"),
        NewFile(f"{version.text}.mod", mod_blob, "text/plain", {"role": "go.mod"}),
    ]
    created = _publish(gateway, where, wanted.module, version.text, files)
    resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
    resp.media = {"module": wanted.module, "version": version.text, "created": created}


def _publish(
    gateway: Gateway, where: RepoInfo, module: str, version: str, files: list[NewFile]
) -> bool:
    """Publish; False when the version already holds this very zip (a retry, or a race lost)."""
    try:
        gateway.publish(where, module, version, files)
    except Conflict:
        if _published_zip(gateway, where, module, version) != files[0].blob:
            raise Conflict(
                f"{module}@{version} exists, or existed, with another zip: versions never change"
            ) from None
        return False
    return True


def _published_zip(gateway: Gateway, where: RepoInfo, module: str, version: str) -> BlobRef | None:
    found = gateway.version(where, module, version)
    stored = found.artifact(f"{version}.zip") if found is not None else None
    return BlobRef(stored.digest, stored.size) if stored is not None else None
