"""Repository policies on npm publishes: licenses as package.json writes them, quarantine."""

from __future__ import annotations

import json

import pytest

from plugins.npm.tests.test_npm_http import body, tarball


@pytest.fixture
def repo(make_repo):
    make_repo("js", format="npm")


def publish(admin, name: str, version: str = "1.0.0", *, repo: str = "js", **manifest: object):
    doc = body(name, version, tarball(name, version))
    doc["versions"][version].update(manifest)
    return put_document(admin, repo, name, doc)


def put_document(admin, repo: str, name: str, doc: dict):
    return admin.client.simulate_request(
        "PUT",
        f"/npm/{repo}/{name}",
        headers=admin.headers({"Content-Type": "application/json"}),
        body=json.dumps(doc).encode(),
    )


@pytest.mark.parametrize(
    "manifest",
    [
        {"license": "(MIT OR Apache-2.0)"},  # the form npm's docs recommend
        {"license": {"type": "Apache-2.0", "url": "https://www.apache.org/licenses/"}},
        {"licenses": [{"type": "MIT", "url": "x"}, {"type": "Apache-2.0", "url": "y"}]},
    ],
    ids=["expression", "legacy-object", "legacy-array"],
)
def test_npm_license_forms_pass_an_apache_only_list(admin, repo, manifest):
    assert admin.put("/v1/repos/js/policy", {"allowed_licenses": ["Apache-2.0"]}).status_code == 200
    answer = publish(admin, "demo", **manifest)
    assert answer.status_code == 201, answer.text


def test_an_npm_license_outside_the_list_is_refused(admin, repo):
    assert admin.put("/v1/repos/js/policy", {"allowed_licenses": ["MIT"]}).status_code == 200
    answer = publish(admin, "demo", license="(MIT AND GPL-3.0-only)")
    assert answer.status_code == 403
    assert "GPL-3.0-only is not in the allowed list" in answer.json["error"]
    assert admin.get("/v1/repos/js/packages").json["packages"] == []


def packument(admin, repo: str, name: str) -> dict:
    answer = admin.get(f"/npm/{repo}/{name}")
    assert answer.status_code == 200, answer.text
    # The same document but for the repository in its tarball URLs.
    return json.loads(answer.text.replace(f"/npm/{repo}/", "/npm/REPO/"))


def test_a_released_publish_is_as_if_it_had_never_been_held(admin, make_repo):
    make_repo("held", format="npm")
    make_repo("plain", format="npm")
    assert admin.put("/v1/repos/held/policy", {"typosquat": True}).status_code == 200
    assert publish(admin, "requests", repo="held").status_code == 201
    # The very same document twice (a tarball's gzip header holds the time it was made).
    doc = body("reqeusts", "1.0.0", tarball("reqeusts", "1.0.0"))
    assert put_document(admin, "held", "reqeusts", doc).status_code in (201, 202)  # held back
    [entry] = admin.get("/v1/quarantine").json["quarantine"]
    assert entry["labels"] == ["latest"], "the administrator sees what a release will do"
    assert put_document(admin, "plain", "reqeusts", doc).status_code == 201
    assert admin.post(f"/v1/quarantine/{entry['id']}/release").status_code == 200

    released, never_held = (
        packument(admin, "held", "reqeusts"),
        packument(admin, "plain", "reqeusts"),
    )
    assert released["dist-tags"] == never_held["dist-tags"] == {"latest": "1.0.0"}
    assert released["versions"] == never_held["versions"]
    # A later publish moves latest as it would in a package never held.
    assert publish(admin, "reqeusts", "1.1.0", repo="held").status_code == 201
    assert packument(admin, "held", "reqeusts")["dist-tags"] == {"latest": "1.1.0"}
