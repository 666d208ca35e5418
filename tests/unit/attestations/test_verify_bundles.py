"""Verification of real sigstore bundles, offline, against the shipped production trust root.

The bundles are the committed ones of tests/data/attestations (see its README):
PEP 740 attestations from GitHub Actions and GitLab CI, an npm provenance bundle,
and one from sigstore's staging instance that the production root cannot verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from pypi_attestations import Attestation

from artifortress.attestations.trust import shipped_trusted_root, verifier_for
from artifortress.attestations.verify import AttestationRefused, AttestationResult, verify_bundle
from artifortress.errors import ServiceUnavailable

DATA = Path(__file__).resolve().parents[2] / "data" / "attestations"
PYPI_DIST = DATA / "pypi_attestations-0.0.19.tar.gz"
GITLAB_DIST = DATA / "gitlab_oidc_project-0.0.3.tar.gz"
STAGING_DIST = DATA / "rfc8785-0.1.2-py3-none-any.whl"
NPM_TARBALL = DATA / "playwright-cli-0.1.1.tgz"
NPM_BUNDLE = DATA / "playwright-cli-0.1.1.sigstore"

GITHUB_PUBLISHER = {
    "issuer": "https://token.actions.githubusercontent.com",
    "repository": "trailofbits/pypi-attestations",
    "workflow": "release.yml",
    "environment": "pypi",
}


def pep740_bundle(dist: Path) -> str:
    """The sigstore bundle inside a PEP 740 attestation file (as the PyPI plugin builds it)."""
    attestation = Attestation.model_validate_json(Path(f"{dist}.publish.attestation").read_bytes())
    return attestation.to_bundle().to_json()


def sha256(path: Path) -> dict[str, str]:
    return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def verify(
    bundle: str, digests: dict[str, str], publisher: dict[str, str] | None = None
) -> AttestationResult:
    return verify_bundle(verifier_for(""), bundle, digests, publisher)


def test_github_attestation_verifies_with_its_signer() -> None:
    result = verify(pep740_bundle(PYPI_DIST), sha256(PYPI_DIST))
    assert result.verified
    assert result.reason is None
    assert result.predicate_type == "https://docs.pypi.org/attestations/publish/v1"
    assert result.subject == PYPI_DIST.name
    identity = result.identity
    assert identity is not None
    assert identity.kind == "GitHub"
    assert identity.issuer == "https://token.actions.githubusercontent.com"
    assert identity.repository == "trailofbits/pypi-attestations"
    assert identity.workflow == "release.yml"
    assert identity.workflow_path == ".github/workflows/release.yml"
    assert identity.ref == "refs/tags/v0.0.19"
    assert identity.commit == "08802efe1f8e5fec4ad842d6b8ce97656092ee72"
    assert identity.san == (
        "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml"
        "@refs/tags/v0.0.19"
    )


def test_gitlab_attestation_verifies_with_its_signer() -> None:
    result = verify(pep740_bundle(GITLAB_DIST), sha256(GITLAB_DIST))
    assert result.verified
    assert result.identity is not None
    assert result.identity.kind == "GitLab"
    assert result.identity.repository == "facutuesca/gitlab-oidc-project"
    assert result.identity.workflow == ".gitlab-ci.yml"
    assert result.identity.ref == "refs/heads/main"


def test_npm_provenance_verifies_against_the_tarball_sha512() -> None:
    digest = hashlib.sha512(NPM_TARBALL.read_bytes()).hexdigest()
    result = verify(NPM_BUNDLE.read_text(), {"sha512": digest})
    assert result.verified
    assert result.predicate_type == "https://slsa.dev/provenance/v1"
    assert result.subject == "pkg:npm/%40playwright/cli@0.1.1"
    assert result.identity is not None
    assert (result.identity.repository, result.identity.workflow) == (
        "microsoft/playwright-cli",
        "publish.yml",
    )


def test_a_bundle_for_other_bytes_is_refused() -> None:
    with pytest.raises(AttestationRefused, match="for other bytes"):
        verify(pep740_bundle(PYPI_DIST), sha256(GITLAB_DIST))
    with pytest.raises(AttestationRefused, match="sha512 digest"):
        verify(NPM_BUNDLE.read_text(), {"sha512": hashlib.sha512(b"other").hexdigest()})


def test_a_tampered_signature_is_refused() -> None:
    document = json.loads(pep740_bundle(PYPI_DIST))
    signature = bytearray(base64.b64decode(document["dsseEnvelope"]["signatures"][0]["sig"]))
    signature[-1] ^= 0x01
    document["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(signature).decode()
    with pytest.raises(AttestationRefused, match="signature does not match"):
        verify(json.dumps(document), sha256(PYPI_DIST))


def test_a_tampered_statement_is_refused() -> None:
    """A statement rewritten to name other bytes no longer matches its signature."""
    document = json.loads(pep740_bundle(PYPI_DIST))
    statement = json.loads(base64.b64decode(document["dsseEnvelope"]["payload"]))
    statement["subject"][0]["digest"]["sha256"] = sha256(GITLAB_DIST)["sha256"]
    document["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(AttestationRefused, match="signature does not match"):
        verify(json.dumps(document), sha256(GITLAB_DIST))


def test_the_trusted_publisher_must_have_signed() -> None:
    result = verify(pep740_bundle(PYPI_DIST), sha256(PYPI_DIST), GITHUB_PUBLISHER)
    assert result.verified
    assert result.environment == "pypi"
    for field, other, said in [
        ("repository", "trailofbits/other", "repository"),
        ("workflow", "publish.yml", "workflow"),
        ("issuer", "https://gitlab.com", "issuer"),
    ]:
        with pytest.raises(AttestationRefused, match=f"trusted publisher: .*{said}"):
            verify(pep740_bundle(PYPI_DIST), sha256(PYPI_DIST), {**GITHUB_PUBLISHER, field: other})


@pytest.mark.parametrize(
    "workflow",
    [
        "release.yml",
        ".github/workflows/release.yml",
        "trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19",
    ],
)
def test_a_publisher_may_name_its_workflow_by_file_path_or_reference(workflow: str) -> None:
    publisher = {
        **GITHUB_PUBLISHER,
        "workflow": workflow,
        "repository": "TrailOfBits/PyPI-Attestations",
    }
    assert verify(pep740_bundle(PYPI_DIST), sha256(PYPI_DIST), publisher).verified


def test_a_bundle_the_trust_root_cannot_verify_is_kept_unverified() -> None:
    """Signed by sigstore's staging instance: intact, but no chain to the production root."""
    result = verify(pep740_bundle(STAGING_DIST), sha256(STAGING_DIST))
    assert not result.verified
    assert result.identity is None  # its claims are not vouched for, so not kept
    assert result.reason is not None
    assert "trust root" in result.reason
    with pytest.raises(AttestationRefused, match="trust root"):
        verify(pep740_bundle(STAGING_DIST), sha256(STAGING_DIST), GITHUB_PUBLISHER)


def test_not_a_bundle_is_refused() -> None:
    for text in ["{}", "[1]", "not json", json.dumps({"mediaType": "x"})]:
        with pytest.raises(AttestationRefused, match="attestation refused"):
            verify(text, sha256(PYPI_DIST))


def test_results_round_trip_through_json() -> None:
    result = verify(pep740_bundle(PYPI_DIST), sha256(PYPI_DIST), GITHUB_PUBLISHER)
    assert AttestationResult.from_json(json.loads(json.dumps(result.as_json()))) == result


def test_the_configured_trust_root_is_the_one_verified_against() -> None:
    """sigstore's staging root (shipped in the package too) vouches for staging, not production."""
    staging = str(shipped_trusted_root()).replace("sigstore.dev", "sigstage.dev")
    verifier = verifier_for(staging)
    signed_in_staging = verify_bundle(verifier, pep740_bundle(STAGING_DIST), sha256(STAGING_DIST))
    assert signed_in_staging.verified
    assert signed_in_staging.identity is not None
    assert signed_in_staging.identity.kind == "other"  # a person signed it, not a CI run
    assert signed_in_staging.identity.san == "william@yossarian.net"
    production = verify_bundle(verifier, pep740_bundle(PYPI_DIST), sha256(PYPI_DIST))
    assert not production.verified


def test_an_unreadable_trust_root_is_a_503_not_an_unverified_upload(tmp_path: Path) -> None:
    broken = tmp_path / "trusted_root.json"
    broken.write_text("{}")
    with pytest.raises(ServiceUnavailable, match="trusted root"):
        verifier_for(str(broken))
    with pytest.raises(ServiceUnavailable, match="trusted root"):
        verifier_for(str(tmp_path / "missing.json"))
