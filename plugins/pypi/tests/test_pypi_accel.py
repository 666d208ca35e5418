"""Simple pages and files handed to a front proxy (``ARTIFORTRESS_ACCEL_REDIRECT``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from plugins.pypi.tests.test_pypi_upload_cost import upload

PAGE = "/pypi/py/simple/cost-demo/"
WHEEL = "/pypi/py/files/cost-demo/1.0.0/cost_demo-1.0.0-py3-none-any.whl"


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, str]:
    return {"accel_redirect": "/_accel/", "renderings_dir": str(tmp_path / "pages")}


@pytest.fixture
def project(make_repo, admin, tmp_path: Path) -> None:
    make_repo("py", format="pypi")
    upload(admin, tmp_path, "1.0.0", "py3-none-any")


def handed_off_file(answer, folder: Path) -> bytes:
    uri = answer.headers["X-Accel-Redirect"]
    assert uri.startswith("/_accel/renderings/")
    return (folder / uri.removeprefix("/_accel/renderings/")).read_bytes()


def test_a_page_is_written_for_the_proxy_and_matches_its_etag(admin, project, tmp_path):
    answer = admin.get(PAGE, headers={"Accept": "text/html"})
    assert answer.status_code == 200
    assert answer.content == b""
    body = handed_off_file(answer, tmp_path / "pages")
    assert b"cost_demo-1.0.0-py3-none-any.whl" in body
    content_type = answer.headers["Content-Type"]
    expected = hashlib.sha256(content_type.encode() + b"\0" + body).hexdigest()[:32]
    assert answer.headers["ETag"] == f'"{expected}"'


def test_a_new_release_hands_off_a_new_file(admin, project, tmp_path):
    first = admin.get(PAGE, headers={"Accept": "text/html"})
    upload(admin, tmp_path, "1.0.1", "py3-none-any")
    second = admin.get(PAGE, headers={"Accept": "text/html"})
    assert first.headers["X-Accel-Redirect"] != second.headers["X-Accel-Redirect"]
    assert b"cost_demo-1.0.1-py3-none-any.whl" in handed_off_file(second, tmp_path / "pages")
    assert b"1.0.1" not in handed_off_file(first, tmp_path / "pages"), "old file left as it was"


def test_revalidation_and_head_are_answered_here(admin, project):
    etag = admin.get(PAGE).headers["ETag"]
    assert admin.get(PAGE, headers={"If-None-Match": etag}).status_code == 304
    head = admin.request("HEAD", WHEEL)
    assert head.status_code == 200
    assert "X-Accel-Redirect" not in head.headers
    assert int(head.headers["Content-Length"]) > 0


def test_a_distribution_is_handed_off_by_content_address(admin, project):
    answer = admin.get(WHEEL)
    assert answer.status_code == 200
    assert answer.content == b""
    assert answer.headers["X-Accel-Redirect"].startswith("/_accel/blobs/sha256/")
    assert "cost_demo-1.0.0-py3-none-any.whl" in answer.headers["Content-Disposition"]
