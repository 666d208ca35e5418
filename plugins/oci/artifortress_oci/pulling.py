"""Manifests out, tags, referrers and deletion."""

from __future__ import annotations

import json
from typing import Any

import falcon

from artifortress.plugin import Gateway, NotFound, Permission, RepoInfo, VersionInfo
from artifortress_oci.errors import (
    API_VERSION_HEADER,
    DENIED,
    MANIFEST_UNKNOWN,
    NAME_UNKNOWN,
    UNSUPPORTED,
    OciError,
)
from artifortress_oci.manifests import OCI_INDEX
from artifortress_oci.names import (
    MANIFEST_FILE,
    TAG,
    Endpoint,
    check_digest,
    digest_of,
    is_digest,
    label_of,
    manifest_digest,
    paginate,
    tag_of,
    version_of,
)
from artifortress_oci.pushing import tags_are_immutable


def send_manifest(gateway: Gateway, resp: falcon.Response, endpoint: Endpoint) -> None:
    """``GET|HEAD /v2/<name>/manifests/<tag|digest>``: the bytes pushed, with their type.

    A virtual repository answers from the first of its members serving the image
    (``Gateway.sources``) that has the tag or digest.
    """
    image = endpoint.image
    for where in gateway.sources(gateway.repo, image):
        version = _version_named(gateway, where, endpoint)
        if version is None:
            continue
        try:
            gateway.send_artifact(resp, where, image, version, MANIFEST_FILE, as_attachment=False)
        except NotFound:
            continue
        resp.set_header("Docker-Content-Digest", digest_of(version))
        resp.set_header(*API_VERSION_HEADER)
        return
    raise OciError(MANIFEST_UNKNOWN, f"no manifest {endpoint.reference[:200]!r} in {image}", 404)


def _version_named(gateway: Gateway, where: RepoInfo, endpoint: Endpoint) -> str | None:
    reference = endpoint.reference
    if is_digest(reference):
        return version_of(manifest_digest(reference))
    if not TAG.fullmatch(reference):
        return None
    return gateway.labels(where, endpoint.image).get(label_of_or_none(reference))


def label_of_or_none(tag: str) -> str:
    try:
        return label_of(tag)
    except OciError:
        return ""  # too long to have been stored: no label has this name


def delete_manifest(gateway: Gateway, resp: falcon.Response, endpoint: Endpoint) -> None:
    """``DELETE /v2/<name>/manifests/<digest|tag>``: a tombstone, or the tag alone (admin)."""
    repo, image = gateway.repo, endpoint.image
    gateway.repository(repo.key, Permission.ADMIN)  # delete maps onto admin: 403 otherwise
    if is_digest(endpoint.reference):
        version = version_of(manifest_digest(endpoint.reference))
        if gateway.version(repo, image, version) is None:
            raise OciError(MANIFEST_UNKNOWN, f"no manifest {endpoint.reference} in {image}", 404)
        gateway.delete_version(repo, image, version)
    else:
        label = label_of_or_none(endpoint.reference)
        if label not in gateway.labels(repo, image):
            raise OciError(MANIFEST_UNKNOWN, f"no tag {endpoint.reference[:200]!r}", 404)
        if tags_are_immutable(gateway, repo):
            raise OciError(DENIED, f"tags are immutable in {repo.key}: delete by digest", 409)
        gateway.delete_label(repo, image, label)
    resp.status = falcon.HTTP_202
    resp.set_header(*API_VERSION_HEADER)
    resp.content_length = 0


def refuse_blob_delete(endpoint: Endpoint) -> None:
    """Blobs go when no manifest references them (GC); a direct delete is the spec's 405."""
    check_digest(endpoint.reference)
    raise OciError(UNSUPPORTED, "blobs are deleted by deleting the manifests using them", 405)


def send_tags(
    gateway: Gateway, req: falcon.Request, resp: falcon.Response, endpoint: Endpoint
) -> None:
    """``GET /v2/<name>/tags/list?n=&last=``: tags in lexical order, a ``Link`` to the rest."""
    repo, image = gateway.repo, endpoint.image
    sources = gateway.sources(repo, image)
    labels = {label for where in sources for label in gateway.labels(where, image)}
    tags = sorted(tag for label in labels if (tag := tag_of(label)) is not None)
    if not tags and not any(gateway.versions(where, image) for where in sources):
        raise OciError(NAME_UNKNOWN, f"no image {image} in {repo.key}", 404)
    page, query = paginate(tags, req.get_param("last"), req.get_param("n"))
    if query is not None:
        resp.set_header("Link", f'</v2/{repo.key}/{image}/tags/list?{query}>; rel="next"')
    _json(resp, {"name": f"{repo.key}/{image}", "tags": page})


def send_referrers(
    gateway: Gateway, req: falcon.Request, resp: falcon.Response, endpoint: Endpoint
) -> None:
    """``GET /v2/<name>/referrers/<digest>``: the manifests whose subject it is, as an index."""
    subject = check_digest(endpoint.reference)
    wanted = req.get_param("artifactType")
    found: dict[str, dict[str, Any]] = {}
    for where in gateway.sources(gateway.repo, endpoint.image):
        for version in gateway.versions(where, endpoint.image):
            if version.metadata.get("subject") == subject:
                found.setdefault(version.version, _descriptor(version))
    referrers = list(found.values())
    if wanted is not None:
        referrers = [d for d in referrers if d.get("artifactType") == wanted]
        resp.set_header("OCI-Filters-Applied", "artifactType")
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": referrers}
    _json(resp, index, OCI_INDEX)


def _descriptor(version: VersionInfo) -> dict[str, Any]:
    meta = version.metadata
    descriptor: dict[str, Any] = {
        "mediaType": meta.get("media_type"),
        "digest": digest_of(version.version),
        "size": meta.get("size"),
    }
    if meta.get("artifact_type"):
        descriptor["artifactType"] = meta["artifact_type"]
    if meta.get("annotations"):
        descriptor["annotations"] = meta["annotations"]
    return descriptor


def _json(resp: falcon.Response, document: dict[str, Any], media_type: str = "") -> None:
    resp.content_type = media_type or falcon.MEDIA_JSON
    resp.data = json.dumps(document).encode()
    resp.set_header(*API_VERSION_HEADER)
