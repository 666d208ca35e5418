"""Warm reads through a virtual PyPI repository: two pooled reads, never stale.

A virtual's page is kept per process under what it was built from (the
members that serve the name for this caller, each one's stored rendering or
upstream fetch); each request still decides those afresh: the guard's claim,
the members the caller may read, the remote's metadata freshness. So a warm
page or file costs two statements on pooled connections and begins no
transaction, and a publish, a grant or an expired upstream page shows at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import falcon.testing
import pytest
from sqlalchemy import event

from artifortress.testing.dbwork import Work, WorkMeter
from plugins.pypi.tests.pypi_upstream import PypiTree
from plugins.pypi.tests.test_pypi_remote import JSON, WHEEL, upload, wheel
from tests.support.upstream import Upstream


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    """Short timeouts: a stopped upstream fails requests at once."""
    return {"upstream_connect_timeout": "1", "upstream_read_timeout": "2", "upstream_retries": "0"}


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream().running() as server:
        yield server


@pytest.fixture
def tree(upstream: Upstream, tmp_path: Path) -> PypiTree:
    tree = PypiTree(upstream)
    folder = tmp_path / "upstream"
    folder.mkdir()
    tree.add(wheel(folder, "foo", "1.0"))
    return tree


@pytest.fixture
def repos(make_repo, tree: PypiTree) -> None:
    make_repo("py", format="pypi")
    make_repo("pypi-up", format="pypi", kind="remote", upstream={"url": tree.url})
    make_repo("all", format="pypi", kind="virtual", members=["py", "pypi-up"])


@pytest.fixture
def reader(api_factory, repos):
    """Reads the virtual and both members (roles, not admin: the read decisions are taken)."""
    return api_factory.as_user("reader", roles={key: ["read"] for key in ("all", "py", "pypi-up")})


def files(api, project: str, repo: str = "all") -> list[str]:
    answer = api.get(f"/pypi/{repo}/simple/{project}/", headers={"Accept": JSON})
    assert answer.status_code == 200, answer.text
    return sorted(entry["filename"] for entry in answer.json["files"])


def cost(services, request: Callable[[], falcon.testing.Result]) -> tuple[Work, int]:
    """The least statements of three warm requests, and the least transactions they began."""
    request()  # warm: the read decisions are kept, the page built
    meter = WorkMeter(services.engine)
    begins: list[object] = []
    event.listen(services.engine, "begin", lambda *args: begins.append(args))
    works, sessions = [], []
    for _ in range(3):
        begins.clear()
        with meter.measure() as work:
            answer = request()
        assert answer.status_code == 200, answer.text
        works.append(work)
        sessions.append(len(begins))
    return Work.least(works), min(sessions)


def test_a_warm_upstream_page_costs_the_claim_and_the_document_row(services, reader, tree):
    page = "/pypi/all/simple/foo/"
    for accept in (JSON, "text/html"):
        work, sessions = cost(services, lambda a=accept: reader.get(page, headers={"Accept": a}))
        # Whether a hosted member claims 'foo', and the remote's document row (its freshness).
        assert (work.statements, sessions) == (2, 0), (accept, work)
    assert tree.upstream.hits["/simple/foo/"] == 1


def test_a_warm_file_costs_the_claim_and_the_file_row(services, reader, tree):
    for filename in (WHEEL, WHEEL + ".metadata"):
        path = f"/pypi/all/files/foo/1.0/{filename}"
        work, sessions = cost(services, lambda p=path: reader.get(p))
        assert (work.statements, sessions) == (2, 0), (filename, work)
    assert tree.hits(WHEEL) == 1


def test_a_warm_hosted_page_costs_the_claim_and_the_change_counter(
    services, admin, reader, tmp_path
):
    upload(admin, wheel(tmp_path, "private-app", "0.1"))
    work, sessions = cost(services, lambda: reader.get("/pypi/all/simple/private-app/"))
    assert (work.statements, sessions) == (2, 0), work


def test_a_publish_to_the_hosted_member_shows_through_the_virtual_at_once(admin, reader, tmp_path):
    upload(admin, wheel(tmp_path, "private-app", "0.1"))
    assert files(reader, "private-app") == ["private_app-0.1-py3-none-any.whl"]
    upload(admin, wheel(tmp_path, "private-app", "0.2"))
    assert files(reader, "private-app") == [
        "private_app-0.1-py3-none-any.whl",
        "private_app-0.2-py3-none-any.whl",
    ]


def test_a_name_published_privately_stops_coming_from_upstream_at_once(
    admin, reader, tree, tmp_path
):
    assert files(reader, "foo") == [WHEEL]  # from upstream, and kept
    assert reader.get(f"/pypi/all/files/foo/1.0/{WHEEL}").status_code == 200
    upload(admin, wheel(tmp_path, "foo", "0.5"))
    assert files(reader, "foo") == ["foo-0.5-py3-none-any.whl"]
    assert reader.get(f"/pypi/all/files/foo/1.0/{WHEEL}").status_code == 404


def test_a_kept_page_never_shows_a_member_the_caller_may_not_read(
    admin, api_factory, repos, tree, tmp_path
):
    admin.patch("/v1/repos/all", {"merge_patterns": ["foo"]})
    upload(admin, wheel(tmp_path, "foo", "0.5"))
    both = ["foo-0.5-py3-none-any.whl", WHEEL]
    assert files(admin, "foo") == both  # merged, and kept for callers who read both
    outsider = api_factory.as_user("outsider", roles={"all": ["read"], "pypi-up": ["read"]})
    assert files(outsider, "foo") == [WHEEL]
    assert outsider.get("/pypi/all/files/foo/0.5/foo-0.5-py3-none-any.whl").status_code == 404
    granted = admin.put("/v1/repos/py/bindings/outsider", {"roles": ["read"]})
    assert granted.status_code == 200
    assert files(outsider, "foo") == both  # a grant counts on the next request
    revoked = admin.put("/v1/repos/py/bindings/outsider", {"roles": []})
    assert revoked.status_code == 200
    assert files(outsider, "foo") == [WHEEL]  # so does a revocation, in this process


def test_an_expired_upstream_page_is_fetched_again_through_the_virtual(
    admin, make_repo, tree, tmp_path
):
    make_repo("py", format="pypi")
    make_repo("up", format="pypi", kind="remote", upstream={"url": tree.url}, metadata_ttl=0)
    make_repo("all", format="pypi", kind="virtual", members=["py", "up"])
    assert files(admin, "foo") == [WHEEL]
    tree.add(wheel(tmp_path, "foo", "2.0"))
    assert files(admin, "foo") == [WHEEL, "foo-2.0-py3-none-any.whl"]
    assert tree.upstream.hits["/simple/foo/"] == 2
    tree.upstream.stop()  # stale-if-error: the last copy, still through the kept page
    assert files(admin, "foo") == [WHEEL, "foo-2.0-py3-none-any.whl"]
