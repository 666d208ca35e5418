"""Fixtures of the OCI plugin's tests: an ``oci`` repository and a registry client on it."""

from __future__ import annotations

import pytest
from oci_images import OCI_MANIFEST, Image, digest


class Registry:
    """Speaks the distribution protocol to the app through an ``Api`` (one user's token)."""

    def __init__(self, api, repo: str = "containers") -> None:
        self.api = api
        self.repo = repo

    def url(self, image: str, tail: str) -> str:
        return f"/v2/{self.repo}/{image}/{tail}"

    def request(self, method: str, path: str, body: bytes | None = None, **kw):
        headers = self.api.headers(kw.pop("headers", None))
        return self.api.client.simulate_request(method, path, headers=headers, body=body, **kw)

    def push_blob(self, image: str, data: bytes):
        return self.request(
            "POST", self.url(image, "blobs/uploads/"), data, params={"digest": digest(data)}
        )

    def push_manifest(self, image: str, ref: str, manifest: bytes, media_type=OCI_MANIFEST):
        headers = {"Content-Type": media_type}
        return self.request("PUT", self.url(image, f"manifests/{ref}"), manifest, headers=headers)

    def push_image(self, image: str, built: Image, tag: str = "1.0"):
        for blob in built.blobs:
            assert self.push_blob(image, blob).status_code == 201
        return self.push_manifest(image, tag, built.manifest)


@pytest.fixture
def registry(admin, make_repo) -> Registry:
    make_repo("containers", format="oci")
    return Registry(admin)
