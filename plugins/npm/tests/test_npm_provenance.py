"""npm publish with provenance (a ``.sigstore`` attachment), driven as the npm CLI sends it.

The npm CLI cannot send one offline: ``--provenance`` signs in CI only (the CI's
ID token, the public sigstore services), and ``--provenance-file`` (an existing
bundle) first verifies it with sigstore-js, which refreshes sigstore's TUF
metadata from its CDN (npm 11 passes no option to use the cached root). So the
body is the one it sends (libnpmpublish's: the bundle as plain JSON text, its
length in UTF-16 units), built around a real published tarball and its real
provenance bundle: ``@playwright/cli@0.1.1`` and the SLSA bundle GitHub Actions
signed for it (tests/data/attestations).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from artifortress.testing.helpers import Api
from tests.functional.ui.browser import Browser

DATA = Path(__file__).resolve().parents[3] / "tests" / "data" / "attestations"
TARBALL = (DATA / "playwright-cli-0.1.1.tgz").read_bytes()
BUNDLE = (DATA / "playwright-cli-0.1.1.sigstore").read_text()
NAME, VERSION = "@playwright/cli", "0.1.1"
URL = "/npm/js/@playwright%2fcli"


@pytest.fixture
def repo(make_repo):
    make_repo("js", format="npm")


def manifest() -> dict:
    with tarfile.open(DATA / "playwright-cli-0.1.1.tgz") as archive:
        member = archive.extractfile("package/package.json")
        assert member is not None
        return json.loads(member.read())


def publish_body(tgz: bytes = TARBALL, bundle: str | None = BUNDLE) -> bytes:
    """The JSON of ``npm publish --provenance``: the tarball base64, the bundle as plain text."""
    dist = {
        "shasum": hashlib.sha1(tgz).hexdigest(),
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode(),
    }
    attachments = {
        f"{NAME}-{VERSION}.tgz": {
            "content_type": "application/octet-stream",
            "data": base64.b64encode(tgz).decode(),
            "length": len(tgz),
        }
    }
    if bundle is not None:
        attachments[f"{NAME}-{VERSION}.sigstore"] = {
            "content_type": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "data": bundle,
            "length": len(bundle.encode("utf-16-le")) // 2,
        }
    document = {
        "_id": NAME,
        "name": NAME,
        "access": "public",
        "dist-tags": {"latest": VERSION},
        "versions": {VERSION: {**manifest(), "_id": f"{NAME}@{VERSION}", "dist": dist}},
        "_attachments": attachments,
    }
    return json.dumps(document).encode()


def put(api, payload: bytes):
    headers = api.headers({"Content-Type": "application/json"})
    return api.client.simulate_request("PUT", URL, headers=headers, body=payload)


def tarball_file(admin) -> dict:
    answer = admin.get(f"/v1/repos/js/packages/{NAME.replace('/', '%2f')}/versions/{VERSION}")
    assert answer.status_code == 200, answer.text
    return {f["filename"]: f for f in answer.json["artifacts"]}["cli-0.1.1.tgz"]


def test_a_real_provenance_bundle_is_verified_and_kept(admin, repo):
    answer = put(admin, publish_body())
    assert answer.status_code == 201, answer.text
    kept = tarball_file(admin)["metadata"]["attestation"]
    assert kept["verified"] is True
    assert kept["predicate_type"] == "https://slsa.dev/provenance/v1"
    assert kept["subject"] == "pkg:npm/%40playwright/cli@0.1.1"
    assert kept["identity"]["repository"] == "microsoft/playwright-cli"
    assert kept["identity"]["workflow"] == "publish.yml"
    assert admin.get("/npm/js/@playwright%2fcli").json["versions"][VERSION]["dist"]["integrity"]


def test_a_bundle_for_another_tarball_is_refused(admin, repo):
    answer = put(admin, publish_body(_retarred(), BUNDLE))
    assert answer.status_code == 400
    assert "for other bytes" in answer.json["error"]
    assert admin.get("/v1/repos/js/packages").json["packages"] == []


def test_a_tampered_bundle_is_refused(admin, repo):
    document = json.loads(BUNDLE)
    statement = json.loads(base64.b64decode(document["dsseEnvelope"]["payload"]))
    statement["predicate"]["buildDefinition"]["externalParameters"]["workflow"]["repository"] = (
        "https://github.com/someone/else"
    )
    document["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    answer = put(admin, publish_body(TARBALL, json.dumps(document)))
    assert answer.status_code == 400
    assert "signature does not match" in answer.json["error"]
    assert admin.get("/v1/repos/js/packages").json["packages"] == []


def test_the_policy_refuses_a_publish_without_provenance(admin, repo):
    assert (
        admin.put("/v1/repos/js/policy", {"require_verified_provenance": True}).status_code == 200
    )
    bare = put(admin, publish_body(bundle=None))
    assert bare.status_code == 403
    assert "verified provenance" in bare.json["error"]
    assert "no attestation" in bare.json["error"]
    assert admin.get("/v1/repos/js/packages").json["packages"] == []
    assert put(admin, publish_body()).status_code == 201


def _retarred() -> bytes:
    """The same files in a new tarball: a different sha512 than the one attested."""
    buffer = io.BytesIO()
    with (
        tarfile.open(DATA / "playwright-cli-0.1.1.tgz") as source,
        tarfile.open(fileobj=buffer, mode="w:gz") as target,
    ):
        for member in source.getmembers():
            data = source.extractfile(member)
            target.addfile(member, data)
    return buffer.getvalue()


def test_a_trusted_publisher_publish_needs_its_own_signature(admin, repo, services):
    principal = services.authenticator.authenticate(admin.token)
    publisher = {
        "issuer": "https://token.actions.githubusercontent.com",
        "repository": "microsoft/playwright-cli",
        "workflow": "other.yml",
    }
    token = services.authenticator.issue_scoped(
        principal, ["js"], read_only=False, ttl_seconds=300, publisher=publisher
    )
    refused = put(Api(admin.client, token), publish_body())
    assert refused.status_code == 400
    assert "trusted publisher" in refused.json["error"]
    assert "other.yml" in refused.json["error"]
    assert admin.get("/v1/repos/js/packages").json["packages"] == []
    token = services.authenticator.issue_scoped(
        principal,
        ["js"],
        read_only=False,
        ttl_seconds=300,
        publisher={**publisher, "workflow": "publish.yml"},
    )
    assert put(Api(admin.client, token), publish_body()).status_code == 201


def test_the_package_page_shows_the_verified_publisher(admin, repo, client):
    assert put(admin, publish_body()).status_code == 201
    browser = Browser(client)
    browser.sign_in(admin.token)
    page = browser.get("/ui/repos/js/packages/@playwright/cli")
    assert page.status_code == 200
    assert "verified provenance: microsoft/playwright-cli / publish.yml" in page.text
