"""Manifests in: ``PUT /v2/<name>/manifests/<tag|digest>`` publishes a version.

A manifest is the version ``sha256-<hex>`` of its image (the package), holding the
manifest's bytes and, as files, every blob it references: GC keeps the layers
of a live manifest, deleting it (a tombstone) lets them go. A tag is a label
on that version; re-pointing it is audited like every label change.
"""

from __future__ import annotations

import falcon

from artifortress.plugin import BlobRef, Conflict, Gateway, NewFile, RepoInfo
from artifortress_oci.errors import (
    API_VERSION_HEADER,
    DENIED,
    DIGEST_INVALID,
    MANIFEST_BLOB_UNKNOWN,
    MANIFEST_INVALID,
    OciError,
)
from artifortress_oci.manifests import MAX_MANIFEST, Descriptor, Manifest, parse_manifest
from artifortress_oci.names import (
    MANIFEST_FILE,
    SHA256,
    Endpoint,
    blob_file,
    check_digest,
    check_tag,
    is_digest,
    label_of,
    tag_of,
    version_of,
)

PUBLISHED, TOMBSTONED = "published", "tombstoned"


def put_manifest(
    gateway: Gateway, req: falcon.Request, resp: falcon.Response, endpoint: Endpoint
) -> None:
    """Check the manifest and what it references, then publish it and point its tags.

    Through a virtual repository, into its upload target (its first hosted member
    the caller may write), where its blobs went too.
    """
    repo, image = gateway.upload_target(gateway.repo), endpoint.image
    labels = [label_of(check_tag(tag)) for tag in _tags(req, endpoint)]
    body = gateway.read_body(MAX_MANIFEST)
    manifest = parse_manifest(body, req.content_type)
    if is_digest(endpoint.reference) and check_digest(endpoint.reference) != manifest.digest:
        raise OciError(
            DIGEST_INVALID, f"the manifest hashes to {manifest.digest}, not {endpoint.reference}"
        )
    _check_blobs(gateway, repo, manifest.blobs)
    _check_children(gateway, repo, image, manifest.children)
    _store(gateway, repo, image, manifest, body, labels)
    resp.status = falcon.HTTP_201
    resp.location = f"/v2/{gateway.repo.key}/{image}/manifests/{manifest.digest}"
    resp.set_header("Docker-Content-Digest", manifest.digest)
    resp.set_header(*API_VERSION_HEADER)
    if manifest.subject is not None:  # says the referrers API will list it
        resp.set_header("OCI-Subject", manifest.subject.digest)
    resp.content_length = 0


def _tags(req: falcon.Request, endpoint: Endpoint) -> list[str]:
    """The tag of the URL, if it names one, and those of ``?tag=`` (distribution-spec 1.1)."""
    tags = [] if is_digest(endpoint.reference) else [endpoint.reference]
    return tags + (req.get_param_as_list("tag") or [])


def _check_blobs(gateway: Gateway, repo: RepoInfo, blobs: tuple[Descriptor, ...]) -> None:
    for blob in blobs:
        if blob.external:
            continue
        held = gateway.blob(repo, blob.digest) if SHA256.fullmatch(blob.digest) else None
        if held is None:
            raise OciError(MANIFEST_BLOB_UNKNOWN, f"blob {blob.digest} is unknown to {repo.key}")
        if held.size != blob.size:
            raise OciError(
                MANIFEST_INVALID, f"blob {blob.digest} has {held.size} bytes, not {blob.size}"
            )


def _check_children(
    gateway: Gateway, repo: RepoInfo, image: str, children: tuple[Descriptor, ...]
) -> None:
    """An index lists manifests of its own image, pushed before it (as clients do)."""
    versions = {version_of(c.digest): c.digest for c in children}
    states = gateway.sealed_versions(repo, image, list(versions))
    for version, digest in versions.items():
        if states.get(version) != PUBLISHED:
            raise OciError(MANIFEST_BLOB_UNKNOWN, f"manifest {digest} is unknown to {image}")


def _store(
    gateway: Gateway,
    repo: RepoInfo,
    image: str,
    manifest: Manifest,
    body: bytes,
    labels: list[str],
) -> None:
    version = version_of(manifest.digest)
    _moving(gateway, repo, image, version, labels)  # a refusal comes before anything is stored
    stored = gateway.ingest(repo, [body], digest=manifest.digest, size=manifest.size)
    gateway.lock_package(repo, image)  # from here tags are read and moved as one step
    moving = _moving(gateway, repo, image, version, labels)  # again: a push may have won
    state = gateway.sealed_versions(repo, image, [version]).get(version)
    if state == TOMBSTONED:
        gateway.restore(repo, image, version)  # needs admin: 403 otherwise
    elif state is None:
        if _publish(gateway, repo, image, manifest, stored, moving):
            return
    elif state != PUBLISHED:
        raise OciError(DENIED, f"manifest {manifest.digest} is {state} in {repo.key}", 403)
    for label in moving:
        gateway.set_label(repo, image, label, version)


def _moving(
    gateway: Gateway, repo: RepoInfo, image: str, version: str, labels: list[str]
) -> list[str]:
    """The labels that change (no change, no audit row); refused where tags are immutable."""
    current = gateway.labels(repo, image)
    moving = [label for label in labels if current.get(label) != version]
    _check_mutable(gateway, repo, image, [label for label in moving if label in current])
    return moving


def tags_are_immutable(gateway: Gateway, repo: RepoInfo) -> bool:
    """The repository's option ``extra.immutable_tags`` of its policy settings."""
    extra = gateway.policy_settings(repo).get("extra") or {}
    return bool(isinstance(extra, dict) and extra.get("immutable_tags"))


def _check_mutable(gateway: Gateway, repo: RepoInfo, image: str, moving: list[str]) -> None:
    """Refuse to re-point existing tags where tags are immutable (like released versions)."""
    if moving and tags_are_immutable(gateway, repo):
        tags = ", ".join(tag_of(label) or label for label in moving)
        raise OciError(
            DENIED, f"tags are immutable in {repo.key}: {image}:{tags} already exists", 409
        )


def _publish(
    gateway: Gateway,
    repo: RepoInfo,
    image: str,
    manifest: Manifest,
    stored: BlobRef,
    labels: list[str],
) -> bool:
    """Publish the manifest's version with its tags; False if a concurrent push did first."""
    files = [NewFile(MANIFEST_FILE, stored, manifest.media_type, {"role": "manifest"})]
    seen = {manifest.digest}
    for blob in manifest.blobs:
        if not blob.external and blob.digest not in seen:
            seen.add(blob.digest)
            ref = BlobRef(blob.digest, blob.size)
            files.append(NewFile(blob_file(blob.digest), ref, blob.media_type, {"role": "blob"}))
    try:
        gateway.publish(
            repo,
            image,
            version_of(manifest.digest),
            files,
            metadata=manifest.referrer_metadata(),
            labels=labels,
        )
    except Conflict:
        return False  # the same bytes won the race: point the tags at them
    return True
