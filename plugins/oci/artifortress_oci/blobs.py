"""Blobs: download, and uploads (monolithic, chunked, cross-repository mount).

Every blob is a blob of the core's blob plane linked to the repository: hashed
while written, verified against the digest the client names, deduplicated
across repositories the caller may read, collected by GC unless a manifest's
version references it.
"""

from __future__ import annotations

import itertools

import falcon

from artifortress.plugin import (
    BlobRef,
    Gateway,
    NotFound,
    Permission,
    PermissionDenied,
    RepoInfo,
    Unauthenticated,
)
from artifortress_oci.errors import (
    API_VERSION_HEADER,
    BLOB_UNKNOWN,
    BLOB_UPLOAD_UNKNOWN,
    DIGEST_INVALID,
    SIZE_INVALID,
    OciError,
)
from artifortress_oci.names import Endpoint, check_digest, check_name
from artifortress_oci.uploads import (
    UploadState,
    cancellation_digest,
    cancellation_marker,
    check_content_range,
)


def send_blob(gateway: Gateway, resp: falcon.Response, endpoint: Endpoint) -> None:
    """``GET|HEAD /v2/<name>/blobs/<digest>``, with ranges (a virtual's: its first member's)."""
    digest = check_digest(endpoint.reference)
    for where in gateway.members(gateway.repo):
        try:  # one lookup: send_file finds the blob or says it is not there
            gateway.send_file(resp, where, digest)
        except NotFound:
            continue
        resp.set_header("Docker-Content-Digest", digest)
        return
    raise OciError(BLOB_UNKNOWN, f"blob {digest} is unknown to {gateway.repo.key}", 404)


def start_upload(
    gateway: Gateway, req: falcon.Request, resp: falcon.Response, endpoint: Endpoint
) -> None:
    """``POST .../blobs/uploads/``: a mount, a whole blob (``?digest=``), or a new upload."""
    repo = gateway.repo  # the URL's: a virtual's uploads land in its upload target
    mount = req.get_param("mount")
    if mount is not None and _mounted(gateway, check_digest(mount), req.get_param("from")):
        _created(resp, repo, endpoint, check_digest(mount))
        return
    digest = req.get_param("digest")
    if digest is not None:
        blob = _whole_blob(gateway, req, check_digest(digest))
        _created(resp, repo, endpoint, blob.digest)
        return
    _accepted(resp, repo, endpoint, UploadState.new())


def append_chunk(
    gateway: Gateway, req: falcon.Request, resp: falcon.Response, endpoint: Endpoint
) -> None:
    """``PATCH <location>``: one more chunk, stored at once as a blob."""
    state = _open_upload(gateway, endpoint)
    state = _take_chunk(gateway, req, state)
    _accepted(resp, gateway.repo, endpoint, state)


def finish_upload(
    gateway: Gateway, req: falcon.Request, resp: falcon.Response, endpoint: Endpoint
) -> None:
    """``PUT <location>?digest=``: the last chunk (if any), then the blob, verified."""
    state = _open_upload(gateway, endpoint)
    digest = check_digest(req.get_param("digest") or "")
    if not state.chunks:  # everything comes now: one verified ingest, no assembly
        check_content_range(req.get_header("Content-Range"), state)
        blob = _whole_blob(gateway, req, digest)
    else:
        state = _take_chunk(gateway, req, state)
        blob = _assemble(gateway, state, digest)
    _created(resp, gateway.repo, endpoint, blob.digest)


def upload_status(gateway: Gateway, resp: falcon.Response, endpoint: Endpoint) -> None:
    """``GET <location>``: how many bytes the upload holds (``Range``)."""
    state = _open_upload(gateway, endpoint)
    _accepted(resp, gateway.repo, endpoint, state)
    resp.status = falcon.HTTP_204


def cancel_upload(gateway: Gateway, resp: falcon.Response, endpoint: Endpoint) -> None:
    """``DELETE <location>``: the upload's marker stored; its chunks are collected by GC."""
    state = _open_upload(gateway, endpoint)
    marker = cancellation_marker(state.id)
    gateway.ingest(_target(gateway), [marker], digest=cancellation_digest(state.id))
    resp.status = falcon.HTTP_204
    resp.set_header(*API_VERSION_HEADER)


# -- helpers ----------------------------------------------------------------------------


def _open_upload(gateway: Gateway, endpoint: Endpoint) -> UploadState:
    """The upload's state; 404 ``BLOB_UPLOAD_UNKNOWN`` if malformed or cancelled (its marker)."""
    state = UploadState.parse(endpoint.reference)
    if gateway.blob(_target(gateway), cancellation_digest(state.id)) is not None:
        raise OciError(BLOB_UPLOAD_UNKNOWN, f"blob upload {state.id} was cancelled", 404)
    return state


def _target(gateway: Gateway) -> RepoInfo:
    """Where the bytes go: the repository itself, or a virtual's first writable hosted member."""
    return gateway.upload_target(gateway.repo)


def _whole_blob(gateway: Gateway, req: falcon.Request, digest: str) -> BlobRef:
    return gateway.ingest(
        _target(gateway), gateway.request_body(), digest=digest, size=req.content_length
    )


def _take_chunk(gateway: Gateway, req: falcon.Request, state: UploadState) -> UploadState:
    announced = check_content_range(req.get_header("Content-Range"), state)
    if req.content_length == 0:
        return state
    state.check_room()
    chunk = gateway.ingest(_target(gateway), gateway.request_body(), size=announced)
    return state.with_chunk(chunk.digest, chunk.size)


def _assemble(gateway: Gateway, state: UploadState, digest: str) -> BlobRef:
    """The blob of the upload's chunks, in order, verified against *digest*."""
    repo = _target(gateway)
    if len(state.chunks) == 1:  # the usual push: one PATCH of the whole blob
        if state.chunks[0] != digest:
            raise OciError(DIGEST_INVALID, f"the upload's bytes do not hash to {digest}")
        return BlobRef(digest, state.size)
    known = gateway.blob(repo, digest)
    if known is not None:
        if known.size != state.size:
            raise OciError(SIZE_INVALID, f"blob {digest} has {known.size} bytes, not {state.size}")
        return known
    chunks = itertools.chain.from_iterable(gateway.open_blob(repo, c) for c in state.chunks)
    return gateway.ingest(repo, chunks, digest=digest, size=state.size)


def _mounted(gateway: Gateway, digest: str, source: str | None) -> bool:
    """Link *digest* from image *source* if the caller may read it there (else: upload).

    Without *source* (the spec lets the registry choose), from any repository
    the caller may read that holds it.
    """
    if source is None:
        return gateway.link_blob(_target(gateway), digest) is not None
    check_name(source)
    try:
        origin = gateway.repository(source.split("/", 1)[0], Permission.READ)
    except (NotFound, PermissionDenied, Unauthenticated):
        return False  # the spec's answer: a new upload, the client sends the bytes
    if origin.format != gateway.repo.format:
        return False
    if not any(gateway.blob(member, digest) for member in gateway.members(origin)):
        return False
    return gateway.link_blob(_target(gateway), digest) is not None


def _location(repo: RepoInfo, endpoint: Endpoint, tail: str) -> str:
    return f"/v2/{repo.key}/{endpoint.image}/blobs/{tail}"


def _created(resp: falcon.Response, repo: RepoInfo, endpoint: Endpoint, digest: str) -> None:
    resp.status = falcon.HTTP_201
    resp.location = _location(repo, endpoint, digest)
    resp.set_header("Docker-Content-Digest", digest)
    resp.set_header(*API_VERSION_HEADER)
    resp.content_length = 0


def _accepted(
    resp: falcon.Response, repo: RepoInfo, endpoint: Endpoint, state: UploadState
) -> None:
    resp.status = falcon.HTTP_202
    resp.location = _location(repo, endpoint, f"uploads/{state.reference}")
    resp.set_header("Range", state.range)
    resp.set_header("Docker-Upload-UUID", state.id)
    resp.set_header(*API_VERSION_HEADER)
    resp.content_length = 0
