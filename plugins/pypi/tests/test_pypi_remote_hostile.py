"""A PyPI remote and virtual against requests no project could answer: the upstream is not asked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.upstream import Upstream


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream().running() as server:
        yield server


@pytest.mark.parametrize("project", ["%2E%2E", "-", "%EF%BD%86%EF%BD%8F%EF%BD%8F", "a" * 300])
def test_a_file_of_a_name_no_project_has_is_a_404_without_asking_upstream(
    admin, make_repo, upstream, project
):
    make_repo("pypi-up", format="pypi", kind="remote", upstream={"url": upstream.url + "simple/"})
    make_repo("all", format="pypi", kind="virtual", members=["pypi-up"])
    for repo in ("pypi-up", "all"):
        answer = admin.get(f"/pypi/{repo}/files/{project}/1.0/x-1.0.tar.gz")
        assert answer.status_code == 404, answer.text
    assert sum(upstream.hits.values()) == 0, dict(upstream.hits)


@pytest.mark.parametrize("project", ["%2E%2E", "-", "%EF%BD%86%EF%BD%8F%EF%BD%8F", "a" * 300])
def test_the_json_api_of_a_name_no_project_has_is_a_404_without_asking_upstream(
    admin, make_repo, upstream, project
):
    make_repo("pypi-up", format="pypi", kind="remote", upstream={"url": upstream.url + "simple/"})
    make_repo("all", format="pypi", kind="virtual", members=["pypi-up"])
    for repo in ("pypi-up", "all"):
        for path in (f"{project}/json", f"{project}/1.0/json"):
            answer = admin.get(f"/pypi/{repo}/pypi/{path}")
            assert answer.status_code == 404, answer.text
    assert sum(upstream.hits.values()) == 0, dict(upstream.hits)
