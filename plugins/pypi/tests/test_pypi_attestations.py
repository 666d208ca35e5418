"""PEP 740 attestations through the upload API: verified offline, refused, served, required.

Real distributions and the attestations their CI signed (tests/data/attestations):
pypi-attestations 0.0.19 from GitHub Actions, a GitLab CI project, and a wheel
signed by sigstore's staging instance (unverifiable with the production root).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from urllib3 import encode_multipart_formdata

from artifortress.testing.helpers import Api
from plugins.pypi.tests.pypi_dists import make_wheel, metadata_text
from tests.functional.ui.browser import Browser

DATA = Path(__file__).resolve().parents[3] / "tests" / "data" / "attestations"
GITHUB_SDIST = DATA / "pypi_attestations-0.0.19.tar.gz"
GITLAB_SDIST = DATA / "gitlab_oidc_project-0.0.3.tar.gz"
STAGING_WHEEL = DATA / "rfc8785-0.1.2-py3-none-any.whl"
URL = "/pypi/py/legacy/"


@pytest.fixture
def repo(make_repo):
    make_repo("py", format="pypi")


def attestation_of(dist: Path) -> dict:
    return json.loads(Path(f"{dist}.publish.attestation").read_text())


def upload(api, dist: Path, attestations: list[dict] | None, *, filename: str | None = None):
    name, version = dist.name.split("-")[:2]
    data = dist.read_bytes()
    fields: dict[str, object] = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": name,
        "version": version.removesuffix(".tar.gz"),
        "filetype": "bdist_wheel" if dist.suffix == ".whl" else "sdist",
        "pyversion": "py3" if dist.suffix == ".whl" else "source",
        "metadata_version": "2.1",
        "sha256_digest": hashlib.sha256(data).hexdigest(),
        "content": (filename or dist.name, data, "application/octet-stream"),
    }
    if attestations is not None:
        fields["attestations"] = json.dumps(attestations)
    body, content_type = encode_multipart_formdata(fields)
    return api.client.simulate_request(
        "POST", URL, headers=api.headers({"Content-Type": content_type}), body=body
    )


def files_of(admin, project: str, version: str) -> dict[str, dict]:
    answer = admin.get(f"/v1/repos/py/packages/{project}/versions/{version}")
    assert answer.status_code == 200, answer.text
    return {f["filename"]: f for f in answer.json["artifacts"]}


def test_a_verified_attestation_is_kept_and_names_its_publisher(admin, repo):
    answer = upload(admin, GITHUB_SDIST, [attestation_of(GITHUB_SDIST)])
    assert answer.status_code == 200, answer.status
    files = files_of(admin, "pypi-attestations", "0.0.19")
    kept = files[GITHUB_SDIST.name]["metadata"]["attestation"]
    assert kept["verified"] is True
    assert kept["identity"]["repository"] == "trailofbits/pypi-attestations"
    assert kept["identity"]["workflow"] == "release.yml"
    assert kept["verified_at"]
    provenance = admin.get(
        f"/pypi/py/files/pypi-attestations/0.0.19/{GITHUB_SDIST.name}.provenance"
    )
    assert provenance.status_code == 200
    bundle = provenance.json["attestation_bundles"][0]
    assert bundle["publisher"] == {
        "kind": "GitHub",
        "repository": "trailofbits/pypi-attestations",
        "workflow": "release.yml",
        "environment": None,
    }
    assert bundle["attestations"] == [attestation_of(GITHUB_SDIST)]


def test_a_gitlab_publisher_is_served_in_pep740_shape(admin, repo):
    assert upload(admin, GITLAB_SDIST, [attestation_of(GITLAB_SDIST)]).status_code == 200
    provenance = admin.get(
        f"/pypi/py/files/gitlab-oidc-project/0.0.3/{GITLAB_SDIST.name}.provenance"
    )
    assert provenance.json["attestation_bundles"][0]["publisher"] == {
        "kind": "GitLab",
        "repository": "facutuesca/gitlab-oidc-project",
        "workflow_filepath": ".gitlab-ci.yml",
        "environment": None,
    }


def test_an_attestation_for_other_bytes_is_refused_and_nothing_stored(admin, repo):
    answer = upload(admin, GITHUB_SDIST, [attestation_of(GITLAB_SDIST)])
    assert answer.status_code == 400
    assert "for other bytes" in answer.status
    assert admin.get("/v1/repos/py/packages").json["packages"] == []


def test_a_tampered_attestation_is_refused(admin, repo):
    attestation = attestation_of(GITHUB_SDIST)
    signature = attestation["envelope"]["signature"]
    attestation["envelope"]["signature"] = (
        signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    )
    answer = upload(admin, GITHUB_SDIST, [attestation])
    assert answer.status_code == 400
    assert "signature does not match" in answer.status
    assert admin.get("/v1/repos/py/packages").json["packages"] == []


def test_an_unverifiable_attestation_is_kept_as_unverified(admin, repo):
    """Intact, but signed by sigstore's staging instance: the production root cannot vouch."""
    assert upload(admin, STAGING_WHEEL, [attestation_of(STAGING_WHEEL)]).status_code == 200
    kept = files_of(admin, "rfc8785", "0.1.2")[STAGING_WHEEL.name]["metadata"]["attestation"]
    assert kept["verified"] is False
    assert kept["identity"] is None
    assert "trust root" in kept["reason"]
    provenance = admin.get(f"/pypi/py/files/rfc8785/0.1.2/{STAGING_WHEEL.name}.provenance")
    assert provenance.json["attestation_bundles"][0]["publisher"] == {"kind": "unverified"}


def test_malformed_attestations_are_refused(admin, repo):
    answer = upload(admin, GITHUB_SDIST, [{"version": 1, "envelope": {}}])
    assert answer.status_code == 400
    assert "Invalid attestations supplied during upload" in answer.status


def test_the_policy_requires_verified_provenance(admin, repo):
    policy = admin.put("/v1/repos/py/policy", {"require_verified_provenance": True})
    assert policy.status_code == 200
    assert policy.json["require_verified_provenance"] is True
    bare = upload(admin, GITHUB_SDIST, None)
    assert bare.status_code == 403
    assert "require_verified_provenance" in bare.status
    assert "no attestation" in bare.status
    unverified = upload(admin, STAGING_WHEEL, [attestation_of(STAGING_WHEEL)])
    assert unverified.status_code == 403
    assert "trust root" in unverified.status
    assert admin.get("/v1/repos/py/packages").json["packages"] == []
    assert upload(admin, GITHUB_SDIST, [attestation_of(GITHUB_SDIST)]).status_code == 200
    assert GITHUB_SDIST.name in files_of(admin, "pypi-attestations", "0.0.19")


def test_the_package_page_shows_the_verified_publisher(admin, repo, client):
    assert upload(admin, GITHUB_SDIST, [attestation_of(GITHUB_SDIST)]).status_code == 200
    assert upload(admin, STAGING_WHEEL, [attestation_of(STAGING_WHEEL)]).status_code == 200
    browser = Browser(client)
    browser.sign_in(admin.token)
    verified = browser.get("/ui/repos/py/packages/pypi-attestations")
    assert verified.status_code == 200
    assert "verified provenance: trailofbits/pypi-attestations / release.yml" in verified.text
    unverified = browser.get("/ui/repos/py/packages/rfc8785")
    assert "verified provenance:" not in unverified.text
    assert "provenance attached, not verified" in unverified.text


def minted(admin, services, **publisher: str) -> Api:
    """A token minted for a trusted publisher (as the OIDC exchange mints them) for ``py``."""
    principal = services.authenticator.authenticate(admin.token)
    github = {
        "issuer": "https://token.actions.githubusercontent.com",
        "repository": "trailofbits/pypi-attestations",
        "workflow": "release.yml",
        "environment": "release",
    }
    token = services.authenticator.issue_scoped(
        principal, ["py"], read_only=False, ttl_seconds=300, publisher={**github, **publisher}
    )
    return Api(admin.client, token)


def test_a_trusted_publisher_upload_needs_its_own_signature(admin, repo, services):
    stranger = minted(admin, services, repository="someone/else")
    refused = upload(stranger, GITHUB_SDIST, [attestation_of(GITHUB_SDIST)])
    assert refused.status_code == 400
    assert "trusted publisher" in refused.status
    assert "someone/else" in refused.status
    assert admin.get("/v1/repos/py/packages").json["packages"] == []
    unverifiable = upload(minted(admin, services), STAGING_WHEEL, [attestation_of(STAGING_WHEEL)])
    assert unverifiable.status_code == 400
    assert "trust root" in unverifiable.status
    accepted = upload(minted(admin, services), GITHUB_SDIST, [attestation_of(GITHUB_SDIST)])
    assert accepted.status_code == 200, accepted.status
    provenance = admin.get(
        f"/pypi/py/files/pypi-attestations/0.0.19/{GITHUB_SDIST.name}.provenance"
    )
    assert provenance.json["attestation_bundles"][0]["publisher"]["environment"] == "release"


def test_the_policy_judges_only_the_files_an_upload_adds_to_a_release(admin, repo, tmp_path):
    """A wheel published before the policy does not block the release's attested sdist."""
    name = "pypi_attestations-0.0.19-py3-none-any.whl"
    wheel = make_wheel(
        tmp_path,
        name,
        metadata_text(name="pypi-attestations", version="0.0.19").encode(),
        dist_info="pypi_attestations-0.0.19.dist-info",
    )
    assert upload(admin, wheel, None).status_code == 200
    assert (
        admin.put("/v1/repos/py/policy", {"require_verified_provenance": True}).status_code == 200
    )
    assert upload(admin, GITHUB_SDIST, [attestation_of(GITHUB_SDIST)]).status_code == 200
    later = make_wheel(
        tmp_path,
        "pypi_attestations-0.0.19-py2-none-any.whl",
        metadata_text(name="pypi-attestations", version="0.0.19").encode(),
        dist_info="pypi_attestations-0.0.19.dist-info",
    )
    refused = upload(admin, later, None)
    assert refused.status_code == 403
    assert "py2-none-any.whl (no attestation)" in refused.status
    assert set(files_of(admin, "pypi-attestations", "0.0.19")) == {
        name,
        f"{name}.metadata",
        GITHUB_SDIST.name,
        f"{GITHUB_SDIST.name}.provenance",
    }
