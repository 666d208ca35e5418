"""Package names with slashes in ``/v1/repos/{repo}/packages/...``: hostile spellings are 4xx."""

from __future__ import annotations

import pytest

from tests.functional.versions_helpers import release

HOSTILE = [
    "a/b/c/d/e/-",
    "a//b/-",
    "../../etc/passwd/-",
    "a/%2e%2e/b/-",
    "a%00b",
    "x" * 5000,
    "/".join(["x"] * 500) + "/-",
    "-",
    "a/-/-",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_package_paths_are_4xx_and_store_nothing(admin, make_repo, name):
    make_repo("libs", "generic")
    release(admin, "libs", "tool", "1.0", {"tool.txt": b"one"})
    before = admin.get("/v1/repos/libs/packages").json
    for method, suffix in [("GET", ""), ("GET", "/versions"), ("DELETE", "/versions/1.0")]:
        answer = admin.request(method, f"/v1/repos/libs/packages/{name}{suffix}")
        assert 400 <= answer.status_code < 500, (method, name[:80], answer.status_code)
    assert admin.get("/v1/repos/libs/packages").json == before
