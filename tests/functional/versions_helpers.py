"""Shared steps of the version-model tests: upload bytes, draft, publish."""

from __future__ import annotations

import hashlib
from typing import Any

from artifortress.testing.helpers import Api


def upload(api: Api, repo: str, data: bytes) -> str:
    """Upload *data* into *repo* through an upload session; returns its digest."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    created = api.post(f"/v1/repos/{repo}/uploads", {"digest": digest, "size": len(data)})
    assert created.status_code in (200, 201), created.text
    if created.status_code == 201:
        upload_id = created.json["id"]
        part = api.client.simulate_request(
            "PUT",
            f"/v1/repos/{repo}/uploads/{upload_id}/parts/1",
            headers=api.headers({"Content-Type": "application/octet-stream"}),
            body=data,
        )
        assert part.status_code in (200, 201, 204), part.text
        done = api.post(f"/v1/repos/{repo}/uploads/{upload_id}/complete")
        assert done.status_code in (200, 201), done.text
    return digest


def draft(api: Api, repo: str, package: str, version: str) -> dict[str, Any]:
    result = api.post(
        f"/v1/repos/{repo}/packages/versions/drafts", {"package": package, "version": version}
    )
    assert result.status_code == 201, result.text
    return dict(result.json)


def add_file(api: Api, repo: str, draft_id: int, filename: str, digest: str) -> Any:
    return api.post(
        f"/v1/repos/{repo}/packages/versions/drafts/{draft_id}/artifacts",
        {"filename": filename, "digest": digest},
    )


def publish(api: Api, repo: str, draft_id: int) -> Any:
    return api.post(f"/v1/repos/{repo}/packages/versions/drafts/{draft_id}/publish")


def release(
    api: Api, repo: str, package: str, version: str, files: dict[str, bytes]
) -> dict[str, Any]:
    """Upload, draft, add every file and publish; returns the published version."""
    opened = draft(api, repo, package, version)
    for filename, data in files.items():
        added = add_file(api, repo, opened["id"], filename, upload(api, repo, data))
        assert added.status_code == 201, added.text
    published = publish(api, repo, opened["id"])
    assert published.status_code == 200, published.text
    return dict(published.json)
