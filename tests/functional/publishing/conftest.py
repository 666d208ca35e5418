"""What every trusted-publishing test module shares: short-lived minted tokens and a publisher.

Each module starts its own test IdP (the ``idp`` fixture) with the accounts it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from artifortress.testing.helpers import Api
from tests.support.oidc_idp import LocalIdP


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"trusted_publishing_token_ttl": "3s"}


@pytest.fixture
def publish_to(
    admin: Api, make_repo: Callable[..., dict[str, Any]], idp: LocalIdP
) -> Callable[..., dict[str, Any]]:
    """A new repository trusting octo/app's release.yml (from the module's test IdP)."""

    def make(key: str, format: str = "pypi", **fields: Any) -> dict[str, Any]:
        make_repo(key, format)
        body = {"kind": "github", "issuer": idp.issuer, "repository": "octo/app"}
        created = admin.post(
            f"/v1/repos/{key}/trusted-publishers", {**body, "workflow": "release.yml", **fields}
        )
        assert created.status_code == 201, created.text
        return dict(created.json)

    return make
