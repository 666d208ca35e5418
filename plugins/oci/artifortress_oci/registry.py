"""``/v2/{repo}/{rest}``: one resource per method, each dispatching on the endpoint.

The permission is declared per method (pull: read; push: write; delete: admin,
checked again by the responder that deletes), so the core resolves the
repository, answers 401/403/404 and audits refusals before anything is parsed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import falcon

from artifortress.plugin import REMOTE, Gateway, Permission, requires
from artifortress_oci import blobs, pulling, pushing
from artifortress_oci.errors import NAME_UNKNOWN, UNSUPPORTED, OciError
from artifortress_oci.names import (
    BLOBS,
    FORMAT_NAME,
    MANIFESTS,
    REFERRERS,
    TAGS,
    UPLOADS,
    Endpoint,
    parse_endpoint,
)
from artifortress_oci.rendering import oci_errors


@contextmanager
def _endpoint(req: falcon.Request, repo: str, rest: str) -> Iterator[tuple[Gateway, Endpoint]]:
    """The Gateway and parsed endpoint; OCI errors of the block become core errors."""
    with oci_errors():
        gateway = Gateway(req)
        if gateway.repo.format != FORMAT_NAME:
            raise OciError(NAME_UNKNOWN, f"{repo} is not a container registry repository", 404)
        if gateway.repo.kind == REMOTE:  # said plainly, rather than answered as empty
            raise OciError(UNSUPPORTED, f"{repo} is a remote: oci has no remote repositories", 405)
        yield gateway, parse_endpoint(repo, rest)


def _unsupported(req: falcon.Request, endpoint: Endpoint) -> OciError:
    return OciError(UNSUPPORTED, f"{req.method} is not supported on {endpoint.kind}", 405)


class RegistryResource:
    """Everything under an image name: manifests, blobs, uploads, tags, referrers."""

    @requires(Permission.READ)
    def on_get(self, req: falcon.Request, resp: falcon.Response, repo: str, rest: str) -> None:
        with _endpoint(req, repo, rest) as (gateway, endpoint):
            if endpoint.kind == MANIFESTS:
                pulling.send_manifest(gateway, resp, endpoint)
            elif endpoint.kind == BLOBS:
                blobs.send_blob(gateway, resp, endpoint)
            elif endpoint.kind == TAGS:
                pulling.send_tags(gateway, req, resp, endpoint)
            elif endpoint.kind == REFERRERS:
                pulling.send_referrers(gateway, req, resp, endpoint)
            elif endpoint.kind == UPLOADS and endpoint.reference:
                blobs.upload_status(gateway, resp, endpoint)
            else:
                raise _unsupported(req, endpoint)

    @requires(Permission.WRITE, action="version.publish", publishes=True)
    def on_put(self, req: falcon.Request, resp: falcon.Response, repo: str, rest: str) -> None:
        with _endpoint(req, repo, rest) as (gateway, endpoint):
            if endpoint.kind == MANIFESTS:
                pushing.put_manifest(gateway, req, resp, endpoint)
            elif endpoint.kind == UPLOADS and endpoint.reference:
                blobs.finish_upload(gateway, req, resp, endpoint)
            else:
                raise _unsupported(req, endpoint)

    @requires(Permission.WRITE, action="blob.ingest", publishes=True)
    def on_post(self, req: falcon.Request, resp: falcon.Response, repo: str, rest: str) -> None:
        with _endpoint(req, repo, rest) as (gateway, endpoint):
            if endpoint.kind != UPLOADS or endpoint.reference:
                raise _unsupported(req, endpoint)
            blobs.start_upload(gateway, req, resp, endpoint)

    @requires(Permission.WRITE, action="blob.ingest", publishes=True)
    def on_patch(self, req: falcon.Request, resp: falcon.Response, repo: str, rest: str) -> None:
        with _endpoint(req, repo, rest) as (gateway, endpoint):
            if endpoint.kind != UPLOADS or not endpoint.reference:
                raise _unsupported(req, endpoint)
            blobs.append_chunk(gateway, req, resp, endpoint)

    @requires(Permission.WRITE, action="version.delete")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, repo: str, rest: str) -> None:
        with _endpoint(req, repo, rest) as (gateway, endpoint):
            if endpoint.kind == MANIFESTS:
                pulling.delete_manifest(gateway, resp, endpoint)
            elif endpoint.kind == BLOBS:
                pulling.refuse_blob_delete(endpoint)
            elif endpoint.kind == UPLOADS and endpoint.reference:
                blobs.cancel_upload(gateway, resp, endpoint)
            else:
                raise _unsupported(req, endpoint)
