"""Uploads and changes addressed to remote and virtual repositories, through the real routes.

A virtual's uploads land in its first hosted member (in order, flattened) that
the caller may write; a remote takes none; nothing is ever stored in a virtual.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from plugins.pypi.tests.pypi_dists import make_wheel
from tests.functional.test_audit_coverage import _npm_publish, _pypi_form

UPSTREAM = "http://127.0.0.1:9/"
WHEEL = "foo_bar_baz-1.0-py3-none-any.whl"
DRAFT = {"package": "tool", "version": "1.0"}


@pytest.fixture
def kinds(admin, make_repo):
    """Per format: a hosted repository, a remote, and a virtual of [remote, nested, hosted]."""
    for prefix, fmt in (("py", "pypi"), ("js", "npm"), ("files", "generic")):
        make_repo(f"{prefix}-hosted", fmt)
        make_repo(f"{prefix}-up", fmt, kind="remote", upstream={"url": UPSTREAM})
        make_repo(f"{prefix}-inner", fmt, kind="virtual", members=[f"{prefix}-hosted"])
        members = [f"{prefix}-up", f"{prefix}-inner"]
        make_repo(f"{prefix}-all", fmt, kind="virtual", members=members)


def wheel_upload(api, repo: str, tmp: Path) -> Any:
    body, content_type = _pypi_form(make_wheel(tmp).read_bytes(), WHEEL, "bdist_wheel")
    return api.post(f"/pypi/{repo}/legacy/", body, headers={"Content-Type": content_type})


def versions(admin, repo: str, package: str) -> list[str]:
    answer = admin.get(f"/v1/repos/{repo}/packages/{package}")
    if answer.status_code == 404:
        return []
    return [v["version"] for v in answer.json["versions"]]


def test_pypi_uploads_to_a_virtual_land_in_its_hosted_member(admin, kinds, tmp_path):
    assert wheel_upload(admin, "py-all", tmp_path).status_code == 200
    assert versions(admin, "py-hosted", "foo-bar-baz") == ["1.0"]
    assert admin.get("/v1/repos/py-all/packages").json["packages"] == []


def test_npm_publishes_to_a_virtual_land_in_its_hosted_member(admin, kinds):
    answer = admin.put("/npm/js-all/left-pad", _npm_publish("left-pad", "1.0.0"))
    assert answer.status_code == 201, answer.text
    assert versions(admin, "js-hosted", "left-pad") == ["1.0.0"]
    tags = admin.put("/npm/js-all/left-pad", {"name": "left-pad", "dist-tags": {}})
    assert tags.status_code == 405, tags.text


def test_generic_uploads_to_a_virtual_land_in_its_hosted_member(admin, kinds):
    answer = admin.put("/generic/files-all/tool/1.0/tool.txt", b"bytes")
    assert answer.status_code == 201, answer.text
    assert versions(admin, "files-hosted", "tool") == ["1.0"]
    assert admin.delete("/generic/files-all/tool/1.0/tool.txt").status_code == 405
    assert versions(admin, "files-hosted", "tool") == ["1.0"]


def test_uploads_to_a_remote_are_405_in_each_protocol(admin, kinds, tmp_path):
    refusals = [
        wheel_upload(admin, "py-up", tmp_path),
        admin.put("/npm/js-up/left-pad", _npm_publish("left-pad", "1.0.0")),
        admin.put("/generic/files-up/tool/1.0/tool.txt", b"bytes"),
        admin.delete("/generic/files-up/tool/1.0/tool.txt"),
        admin.post("/v1/repos/files-up/packages/versions/drafts", DRAFT),
    ]
    for answer in refusals:
        assert answer.status_code == 405, answer.text
        assert "remote" in answer.text
    for prefix in ("py", "js", "files"):
        assert admin.get(f"/v1/repos/{prefix}-up/packages").json["packages"] == []


def test_the_core_stores_nothing_in_a_virtual(admin, kinds):
    digest = "sha256:" + hashlib.sha256(b"x").hexdigest()
    for method, path, body in [
        ("POST", "/v1/repos/files-all/packages/versions/drafts", DRAFT),
        ("POST", "/v1/repos/files-all/uploads", {"digest": digest, "size": 1}),
    ]:
        answer = admin.request(method, path, json=body)
        assert answer.status_code == 405, answer.text
    assert admin.get("/v1/repos/files-all/packages").json["packages"] == []


def test_a_virtual_without_a_hosted_member_takes_no_uploads(admin, make_repo, kinds):
    make_repo("files-remotes", kind="virtual", members=["files-up"])
    answer = admin.put("/generic/files-remotes/tool/1.0/tool.txt", b"bytes")
    assert answer.status_code == 405, answer.text
    assert "no hosted member" in answer.text


def test_uploads_go_to_the_first_hosted_member_the_caller_may_write(
    admin, api_factory, make_repo, kinds
):
    make_repo("files-other")
    admin.patch("/v1/repos/files-all", {"members": ["files-up", "files-inner", "files-other"]})
    writer = api_factory.as_user(
        "ci", roles={"files-all": ["write"], "files-hosted": ["read"], "files-other": ["write"]}
    )
    assert writer.put("/generic/files-all/tool/1.0/tool.txt", b"x").status_code == 201
    assert versions(admin, "files-other", "tool") == ["1.0"]
    assert versions(admin, "files-hosted", "tool") == []
    reader = api_factory.as_user("ro", roles={"files-all": ["write"], "files-hosted": ["read"]})
    refused = reader.put("/generic/files-all/tool/2.0/tool.txt", b"x")
    assert refused.status_code == 403, refused.text
    assert "no hosted member of virtual repository 'files-all'" in refused.text


def test_npm_answers_refusals_in_its_own_error_shape(admin, kinds):
    answer = admin.put("/npm/js-up/left-pad", _npm_publish("left-pad", "1.0.0"))
    assert answer.status_code == 405
    assert "remote" in json.loads(answer.text)["error"]
