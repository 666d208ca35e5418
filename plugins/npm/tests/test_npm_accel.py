"""Packuments and the front-proxy hand-off: a client-chosen Host never becomes a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugins.npm.tests.test_npm_http import body, tarball


@pytest.fixture
def public_url() -> str:
    return ""


@pytest.fixture
def settings_overrides(tmp_path: Path, public_url: str) -> dict[str, str]:
    pages = str(tmp_path / "pages")
    return {"accel_redirect": "/_accel/", "renderings_dir": pages, "public_url": public_url}


@pytest.fixture
def published(admin, make_repo) -> None:
    make_repo("js", format="npm", public=True)
    doc = body("demo", "1.0.0", tarball("demo", "1.0.0"))
    made = admin.client.simulate_request(
        "PUT",
        "/npm/js/demo",
        headers=admin.headers({"Content-Type": "application/json"}),
        body=json.dumps(doc).encode(),
    )
    assert made.status_code == 201


def page_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "pages").iterdir() if not p.name.startswith(".")]


def test_client_chosen_hosts_are_answered_directly_and_write_nothing(
    anonymous, published, tmp_path
):
    for n in range(10):
        host = f"h{n}.attacker.example"
        got = anonymous.client.simulate_get("/npm/js/demo", host=host)
        assert got.status_code == 200
        assert "X-Accel-Redirect" not in got.headers
        assert f"http://{host}/npm/js/demo/-/demo-1.0.0.tgz".encode() in got.content
    assert page_files(tmp_path) == []


@pytest.mark.parametrize("public_url", ["https://registry.example"])
def test_with_a_public_url_every_host_shares_one_file(anonymous, published, tmp_path):
    for n in range(5):
        got = anonymous.client.simulate_get("/npm/js/demo", host=f"h{n}.example")
        assert got.headers["X-Accel-Redirect"].startswith("/_accel/renderings/")
    (file,) = page_files(tmp_path)
    assert b"https://registry.example/npm/js/demo/-/demo-1.0.0.tgz" in file.read_bytes()
