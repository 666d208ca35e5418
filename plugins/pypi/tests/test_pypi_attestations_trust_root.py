"""ARTIFORTRESS_SIGSTORE_TRUSTED_ROOT: uploads are verified against the configured root.

Configured with sigstore's staging root (shipped in the sigstore package next to
the production one), the staging-signed wheel verifies and the production-signed
sdist does not.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sigstore

from plugins.pypi.tests.test_pypi_attestations import (
    GITHUB_SDIST,
    STAGING_WHEEL,
    attestation_of,
    files_of,
    upload,
)

STAGING_ROOT = (
    Path(sigstore.__file__).resolve().parent
    / "_store"
    / "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev"
    / "trusted_root.json"
)


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"sigstore_trusted_root": str(STAGING_ROOT)}


@pytest.fixture
def repo(make_repo):
    make_repo("py", format="pypi")


def test_the_configured_root_decides(admin, repo):
    assert upload(admin, STAGING_WHEEL, [attestation_of(STAGING_WHEEL)]).status_code == 200
    staged = files_of(admin, "rfc8785", "0.1.2")[STAGING_WHEEL.name]["metadata"]["attestation"]
    assert staged["verified"] is True
    assert staged["identity"]["san"] == "william@yossarian.net"
    assert upload(admin, GITHUB_SDIST, [attestation_of(GITHUB_SDIST)]).status_code == 200
    production = files_of(admin, "pypi-attestations", "0.0.19")[GITHUB_SDIST.name]
    assert production["metadata"]["attestation"]["verified"] is False
    assert production["metadata"]["attestation"]["identity"] is None
