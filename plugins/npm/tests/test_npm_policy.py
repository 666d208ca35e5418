"""Repository policies on npm publishes: licenses as package.json writes them."""

from __future__ import annotations

import json

import pytest

from plugins.npm.tests.test_npm_http import body, put, tarball


@pytest.fixture
def repo(make_repo):
    make_repo("js", format="npm")


def publish(admin, name: str, version: str = "1.0.0", **manifest: object):
    doc = body(name, version, tarball(name, version))
    doc["versions"][version].update(manifest)
    return put(admin, name, json.dumps(doc).encode())


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
