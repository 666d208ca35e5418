"""Requests the trusted-publishing tests make: the exchange, and a write with its token."""

from __future__ import annotations

import hashlib

import falcon.testing


def mint(client: falcon.testing.TestClient, id_token: str) -> falcon.testing.Result:
    return client.simulate_post("/_/oidc/mint-token", json={"token": id_token})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(client: falcon.testing.TestClient, token: str, repo: str, path: str = "a.txt") -> int:
    """Open an upload session (the core's write into any repository) for *path*'s bytes."""
    data = path.encode()
    answer = client.simulate_post(
        f"/v1/repos/{repo}/uploads",
        json={"digest": "sha256:" + hashlib.sha256(data).hexdigest(), "size": len(data)},
        headers=bearer(token),
    )
    return answer.status_code
